#!/usr/bin/env bash
# AgriMap: one command to set up and run the demo, one to set up and run the tests.
#   ./run.sh demo   install what is missing, start a local PostGIS (unless DATABASE_URL is set),
#                   migrate, load the demo commune and serve it on http://127.0.0.1:8000
#   ./run.sh test   install what the tests need and run them against a real PostGIS
#   ./run.sh soak [--minutes 10]   mixed and hostile load on 127.0.0.1, bounded (bench/soak.py)
#   ./run.sh cluster  the local topology of issue 18: a primary, a streaming replica, two
#                   server processes and Varnish in front on http://127.0.0.1:8000 (Ctrl-C stops)
# Both are safe to re-run. On Debian 12 as root they install the system packages they need;
# as another user they say which packages to install.
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '\033[1;32m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31mError:\033[0m %s\n' "$*" >&2; exit 1; }

mode="${1:-}"
case "$mode" in
  demo|test|bench|soak|cluster) shift ;;
  *) die "usage: ./run.sh demo | ./run.sh test [pytest args] | ./run.sh bench [--households N] | ./run.sh soak [--minutes N] | ./run.sh cluster [--port 8000]" ;;
esac

# Debian packages each mode needs, and a file that tells whether each is there.
# fonts-dejavu-core: Vietnamese text on QR images and the printable PDF sheets.
pkgs=(postgresql-15-postgis-3 postgresql-15 python3-venv fonts-dejavu-core)
checks=(/usr/share/postgresql/15/extension/postgis.control /usr/lib/postgresql/15/bin/initdb ""
        /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf)
if [ "$mode" = test ] || [ "$mode" = bench ]; then
  # zbar-tools: the tests decode our QR images with a real decoder; poppler-utils renders the
  # PDF village sheet (its codes are vector drawings) so that they can be decoded as printed.
  pkgs+=(gdal-bin chromium zbar-tools poppler-utils)
  checks+=(/usr/bin/ogrinfo /usr/bin/chromium /usr/bin/zbarimg /usr/bin/pdftoppm)
fi
[ "$mode" = bench ] && pkgs+=(wrk) && checks+=(/usr/bin/wrk)  # the benchmark's load generator
if [ "$mode" = test ] || [ "$mode" = cluster ]; then
  # The topology of issue 18: PgBouncer (transaction mode) and Varnish in front of the servers.
  pkgs+=(pgbouncer varnish)
  checks+=(/usr/sbin/pgbouncer /usr/sbin/varnishd)
fi

python_ok() { python3 -c 'import sys, ensurepip; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; }

missing=()
for i in "${!pkgs[@]}"; do
  check="${checks[$i]}"
  if [ -z "$check" ]; then
    python_ok || missing+=("${pkgs[$i]}")
  elif [ ! -e "$check" ]; then
    missing+=("${pkgs[$i]}")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    say "Installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" python3 >/dev/null
  else
    die "missing system packages: ${missing[*]}. Install them (e.g. sudo apt-get install ${missing[*]}) and re-run."
  fi
fi
python_ok || die "Python 3.11 with venv is required (Debian 12: apt-get install python3 python3-venv)."

extra=""
[ "$mode" != demo ] && extra="[test]"
stamp=".venv/.installed${extra}"
if [ ! -x .venv/bin/python ]; then
  say "Creating the Python environment in .venv"
  python3 -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "Installing AgriMap and its Python dependencies${extra:+ (with test tools)}"
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e ".${extra}"
  # The statistics-office lists from before the July 2025 reform (old districts and communes,
  # and which new commune each merged into) ship from vietnam-provinces 2026.2 on, which
  # declares Python >= 3.12 but runs on 3.11 (tested: tests/geo/test_codes.py).
  .venv/bin/pip install -q --ignore-requires-python "vietnam-provinces>=2026.2,<2027"
  touch "$stamp"
fi

case "$mode" in
  demo)
    say "Starting the demo (local PostGIS unless DATABASE_URL is set)"
    exec .venv/bin/agrimap demo "$@"
    ;;
  test)
    say "Running the tests against a real PostGIS (local cluster in .pgdata unless AGRIMAP_TEST_DATABASE_URL is set)"
    exec .venv/bin/python -m pytest "$@"
    ;;
  cluster)
    say "The local topology: primary, streaming replica, two servers, Varnish in front"
    exec .venv/bin/agrimap cluster "$@"
    ;;
  bench)
    say "Benchmark: our server and tipg side by side on the same synthetic database (bench/tiles.py --help)"
    exec .venv/bin/python bench/tiles.py "$@"
    ;;
  soak)
    say "Soak: the demo commune under mixed and hostile load on 127.0.0.1 (bench/soak.py --help)"
    exec .venv/bin/python bench/soak.py "$@"
    ;;
esac
