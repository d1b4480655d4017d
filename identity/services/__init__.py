"""Identity's writes, one module per subdomain; every change publishes its events."""
