"""Relayboard core: the Bench facade and one module per subsystem. Imports no Textual or Rich."""
