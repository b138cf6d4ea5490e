"""The platform: what runs across workspaces and apps, on top of every other layer.

Provisioning and sign-up, Stripe sync and billing schedules, the platform admin of
workspaces and billing, and the commands that set the platform up. Lower apps never import
it; it wires them together.
"""
