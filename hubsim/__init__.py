"""The local hub simulator (``hubsim.server``) and the world builders.

A *world* is a directory of hub records (see ``docs/world-format.md``). The simulator loads it once and
speaks the Hugging Face and ModelScope HTTP APIs over loopback, with rate limits and seeded faults, so the
crawler and the tests run against a real server without touching the internet.
"""
