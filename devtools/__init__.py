"""Fakes and harnesses for tests, benchmarks and local development; never part of the product.

Loopback fakes of the services EngageX talks to (SendGrid, Stripe, an OpenID Connect
provider) and the task-cluster harness. Product code (`engagex`, `tenants`, `config`) never
imports this package, and the Docker image leaves it out (`.dockerignore`).
"""
