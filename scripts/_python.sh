# Sourced by scripts/setup, scripts/test and scripts/develop: which Python, and so which
# virtualenv, to use, and setting that virtualenv up on first use.
#   python3.14 (>= 3.14.2)  -> newest HA line
#   else a Python 3.13      -> the newest HA that Python runs (HA 2025.4.x on 3.13.0)

_version_ok() {  # _version_ok PYTHON MIN_TUPLE MAX_EXCLUSIVE_TUPLE
  "$1" -c "import sys; sys.exit(0 if $2 <= sys.version_info[:3] < $3 else 1)" 2>/dev/null
}

pick_python() {
  local p
  for p in python3.14 python3; do
    if command -v "$p" >/dev/null && _version_ok "$p" "(3,14,2)" "(3,15,0)"; then command -v "$p"; return; fi
  done
  for p in python3.13 python3; do
    if command -v "$p" >/dev/null && _version_ok "$p" "(3,13,0)" "(3,14,0)"; then command -v "$p"; return; fi
  done
  local root=${PYENV_ROOT:-$HOME/.pyenv} v
  if [ -d "$root/versions" ]; then
    for v in $(ls -1 "$root/versions" | grep -E '^3\.13\.[0-9]+$' | sort -t. -k3,3nr); do
      if _version_ok "$root/versions/$v/bin/python3" "(3,13,0)" "(3,14,0)"; then
        echo "$root/versions/$v/bin/python3"; return
      fi
    done
  fi
  return 1
}

venv_for() {  # venv_for PYTHON -> .venv-3.14 / .venv-3.13
  echo ".venv-$("$1" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
}

ensure_venv() {  # ensure_venv CALLER VENV [SETUP_ARGS…]: run scripts/setup once if VENV is missing
  local caller=$1 venv=$2
  shift 2
  [ -x "$venv/bin/python" ] && return 0
  echo "$caller: $venv missing; running scripts/setup${*:+ $*} first" >&2
  # Its progress goes to stderr: scripts/develop's stdout carries only its ready line.
  scripts/setup "$@" >&2 || { echo "$caller: scripts/setup failed" >&2; return 1; }
  [ -x "$venv/bin/python" ] || { echo "$caller: scripts/setup did not make $venv" >&2; return 1; }
}
