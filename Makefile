# ringdeck: the whole set-up on a fresh Debian machine is `make demo` (try it) and `make test`.

DEB_PACKAGES := mariadb-server mariadb-client haproxy apache2 openssh-server openssh-client socat tmux
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CARGO ?= cargo
RINGDECK := target/release/ringdeck

.PHONY: demo test deps build check screenshots bench clean-lab

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

## clean-lab: stop the default practice lab and delete its files.
clean-lab:
	-$(RINGDECK) lab down --purge
