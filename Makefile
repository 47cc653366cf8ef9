# ringdeck: the whole set-up on a fresh Debian machine is `make demo` (try it) and `make test`.

# innotop (in mariadb-client) needs Term::ReadKey and DBD::MariaDB for `make bench`.
DEB_PACKAGES := mariadb-server mariadb-client haproxy apache2 openssh-server openssh-client socat tmux openssl iproute2 \
	libterm-readkey-perl libdbd-mariadb-perl
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CARGO ?= cargo
RINGDECK := target/release/ringdeck

.PHONY: demo test deps build bench screenshots clean-lab

## demo: install what is missing, build, start a practice lab and open the console on it.
demo: deps build
	$(RINGDECK) lab up
	$(RINGDECK) lab open

## test: install what is missing, then formatting, lints and the whole test suite (real servers).
test: deps
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --locked -- -D warnings
	$(CARGO) test --locked --all-targets

## deps: the Debian packages the lab and the tests need, installed only when missing.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build:
	$(CARGO) build --release --locked

## bench: the console beside innotop on a practice lab (CPU, memory, first frame, key-to-frame),
## ten minutes more of watching for the memory figure, then the synthetic figures (about 13 minutes
## in all; `ringdeck bench --stack --soak 0` skips the long part). Reports, never fails on the figures.
bench: deps build
	$(RINGDECK) bench --stack

## clean-lab: stop the default practice lab and delete its files.
clean-lab:
	-$(RINGDECK) lab down --purge

## screenshots: real lab states rendered by `ringdeck snapshot` into screenshots/*.svg.
SHOT_DIR := /tmp/ringdeck-screenshots-lab
screenshots: build
	@set -e; rd=$(CURDIR)/$(RINGDECK); d=$(SHOT_DIR); \
	trap '$$rd lab down --purge --dir $$d >/dev/null 2>&1 || true' EXIT; \
	$$rd lab down --purge --dir $$d >/dev/null 2>&1 || true; \
	$$rd lab up --agent --dir $$d --port-base 15500 >/dev/null; \
	cfg=$$d/ringdeck.toml; \
	$$rd lab load --dir $$d --seconds 12 >/dev/null 2>&1 & \
	sleep 6; \
	$$rd --config $$cfg snapshot --polls 3 --out screenshots/healthy-under-load-160x45.svg; \
	wait; \
	$$rd lab break dup --node 2 --dir $$d >/dev/null; \
	for i in $$(seq 1 40); do echo "show stat" | socat - $$d/haproxy.sock | grep -q '^mysql,node2,.*DRAIN (agent)' && break; sleep 0.5; done; \
	$$rd --config $$cfg snapshot --out screenshots/broken-link-160x45.svg; \
	NO_COLOR=1 $$rd --config $$cfg snapshot --width 80 --height 24 --out screenshots/broken-link-80x24-no-color.svg; \
	XDG_STATE_HOME=$$d/state $$rd --config $$cfg snapshot --recover --out screenshots/recovery-wizard-160x45.svg; \
	XDG_STATE_HOME=$$d/state $$rd --config $$cfg run skip --node node2 --yes >/dev/null; \
	$$rd lab break unlogged --node 3 --dir $$d >/dev/null; \
	XDG_STATE_HOME=$$d/state $$rd --config $$cfg snapshot --verify --keys p --out screenshots/verify-repair-160x45.svg; \
	$$rd lab break conflict --nodes 1,2 --dir $$d >/dev/null; \
	XDG_STATE_HOME=$$d/state $$rd --config $$cfg snapshot --inspect --out screenshots/inspector-double-break-160x45.svg; \
	XDG_STATE_HOME=$$d/state $$rd --config $$cfg resolve --node node1 --keep local --yes >/dev/null; \
	$$rd lab break dup --node 2 --dir $$d >/dev/null; \
	$$rd lab break stop --node 3 --dir $$d >/dev/null; \
	$$rd lab break stop --web 2 --dir $$d >/dev/null; \
	$$rd --config $$cfg snapshot --polls 3 --out screenshots/node-and-web-down-160x45.svg; \
	echo "screenshots/ regenerated from a live lab"
