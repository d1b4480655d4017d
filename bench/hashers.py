"""Argon2id with Keycloak's published cost (5 iterations, 7 MiB, parallelism 1), for comparison."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class KeycloakArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 5
    memory_cost = 7168
    parallelism = 1
