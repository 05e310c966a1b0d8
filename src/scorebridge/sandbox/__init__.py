"""Emulators of Mautic and the supported CRMs, served on 127.0.0.1, plus the seeded world.

Written from ``shared/reference`` only: nothing here imports the clients
(:mod:`scorebridge.mautic`, :mod:`scorebridge.crm`), and they never import this package.
"""
