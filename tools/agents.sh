#!/usr/bin/env bash
# Install the real agent CLIs that the end-to-end tests, the screen recorder and the demo drive, into a
# project-local npm prefix (default: <repo>/.agents, git-ignored). Idempotent: when the pinned versions are
# already installed it does nothing but print the binary paths. Never reads stdin; fails loudly (non-zero) when
# npm is missing or the install does not produce working binaries.
#
#   tools/agents.sh            install if needed, print "claude=<path>" and "codex=<path>"
#   tools/agents.sh --force    reinstall even when the versions match
#
# Environment: RELAYBOARD_AGENTS_DIR overrides the prefix (tests read the same variable).
set -euo pipefail
exec </dev/null

CLAUDE_PKG="@anthropic-ai/claude-code"
CLAUDE_VERSION="2.1.330"
CODEX_PKG="@openai/codex"
CODEX_VERSION="0.169.0"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${RELAYBOARD_AGENTS_DIR:-$ROOT/.agents}"
FORCE=0
for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "agents.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

die() { echo "agents.sh: error: $*" >&2; exit 1; }

installed_version() { # <package name> -> version from its package.json, or empty
    local manifest="$PREFIX/node_modules/$1/package.json"
    [ -f "$manifest" ] || return 0
    node -e 'process.stdout.write(String(require(process.argv[1]).version || ""))' "$manifest" 2>/dev/null || true
}

CLAUDE_BIN="$PREFIX/node_modules/.bin/claude"
CODEX_BIN="$PREFIX/node_modules/.bin/codex"

binaries_work() {
    [ -x "$CLAUDE_BIN" ] && [ -x "$CODEX_BIN" ] || return 1
    local cv xv
    cv="$("$CLAUDE_BIN" --version 2>/dev/null)" || return 1
    xv="$("$CODEX_BIN" --version 2>/dev/null)" || return 1
    [[ "$cv" == *"$CLAUDE_VERSION"* ]] && [[ "$xv" == *"$CODEX_VERSION"* ]]
}

command -v node >/dev/null 2>&1 || die "node is not installed (need Node.js >= 18; on Debian: apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 || die "npm is not installed (on Debian: apt-get install npm)"

if [ "$FORCE" = 0 ] \
    && [ "$(installed_version "$CLAUDE_PKG")" = "$CLAUDE_VERSION" ] \
    && [ "$(installed_version "$CODEX_PKG")" = "$CODEX_VERSION" ] \
    && binaries_work; then
    echo "agents.sh: $CLAUDE_PKG@$CLAUDE_VERSION and $CODEX_PKG@$CODEX_VERSION already installed in $PREFIX" >&2
else
    echo "agents.sh: installing $CLAUDE_PKG@$CLAUDE_VERSION and $CODEX_PKG@$CODEX_VERSION into $PREFIX" >&2
    mkdir -p "$PREFIX"
    # A package.json keeps npm from walking up to the repository and pins the versions for a later `npm ci`.
    [ -f "$PREFIX/package.json" ] || printf '{\n  "name": "relayboard-agents",\n  "private": true\n}\n' >"$PREFIX/package.json"
    start=$(date +%s)
    # Scripts must run: claude-code's postinstall links its platform-native binary into bin/claude.exe.
    CI=1 npm_config_yes=true npm_config_update_notifier=false \
        npm install --prefix "$PREFIX" --no-audit --no-fund --save-exact --ignore-scripts=false --loglevel=error \
        "$CLAUDE_PKG@$CLAUDE_VERSION" "$CODEX_PKG@$CODEX_VERSION" \
        || die "npm install failed (registry reachable? try: npm ping)"
    end=$(date +%s)
    size="$(du -sh "$PREFIX" 2>/dev/null | cut -f1)"
    echo "agents.sh: installed in $((end - start)) s, $PREFIX is $size" >&2
    binaries_work || die "installed, but '$CLAUDE_BIN --version' / '$CODEX_BIN --version' did not report the pinned versions"
fi

echo "claude=$CLAUDE_BIN"
echo "codex=$CODEX_BIN"
