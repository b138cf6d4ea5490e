"""The condition types segments offer, one module per family of data."""


def register_all() -> None:
    """Register every condition type (called once, from the segments app's `ready()`)."""
    from engagex.segments.conditions import attributes, engagement, fields, lists, segments

    for module in (fields, attributes, lists, engagement, segments):
        module.register()
