"""Local stand-ins for the network services the real agent CLIs talk to, so tests and the demo run them offline.

- `anthropic_server.FakeAnthropic`: a scripted fake of the Anthropic Messages API for the real Claude Code.
- `claude_env`: temp HOMEs + environments that start the real Claude Code / Codex straight to their prompt.
"""
