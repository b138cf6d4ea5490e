from tests.api.conftest import api  # noqa: F401  (the API key client fixture)
