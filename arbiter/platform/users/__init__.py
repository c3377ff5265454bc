"""Users (用户): accounts registered by phone and password (scrypt hashes), login with the
risk scenes' verification and lockout, account cancellation (注销) that anonymises and keeps
the id, the profile (real-name identity and bank cards masked at rest, with keyed digests),
delivery addresses, user tags with their lifecycle (computed from the profile and order
events by a job) and the `user.*` facts the rules read. `service` is the public surface."""
