pytest_plugins = ["tests.fixtures.tenants"]
