pytest_plugins = ["tests.fixtures.tenants", "tests.fixtures.esp", "tests.fixtures.billing"]
