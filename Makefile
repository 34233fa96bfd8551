# hugepage-guard: every entry point a person or CI needs.
#
#   make demo        set up this host and show the guard refusing a VM (README, first command)
#   make test        every test: unit tests, the monitoring rules and dashboard (promtool), and the
#                    real-libvirtd/QEMU integration tests
#   make test-deb    the Debian package tests in a debootstrap'd chroot (CI runs these too)
#   make test-multinode  the per-node scenarios on a real 2- and 4-node kernel, in a QEMU/TCG
#                    guest (CI runs it after make test); one: make test-multinode SCENARIO=name
#   make deb         build hugepage-guard_<version>_amd64.deb
#   make bench       write BENCHMARKS.md
#   make fuzz        fuzz the parsers for FUZZ_SECONDS each (default 300); make fuzz-smoke: 15 s each

SWIFT_RELEASE_FLAGS := -c release --static-swift-stdlib
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 15
BIN := $(shell swift build $(SWIFT_RELEASE_FLAGS) --show-bin-path 2>/dev/null)

.PHONY: all build test test-unit test-monitoring test-integration test-deb deb demo bench setup clean fuzz fuzz-smoke

all: build

build:
	swift build $(SWIFT_RELEASE_FLAGS)

setup:
	scripts/setup-host

test-unit:
	swift build --build-tests
	swift test --skip-build

test-integration: setup build
	HUGEPAGE_GUARD_BIN=$(BIN) python3 -m pytest -v Tests/Integration Tests/AgentIntegration

# The shipped Prometheus rules (promtool check + unit tests) and the Grafana dashboard.
test-monitoring: setup
	python3 -m pytest -v Tests/Monitoring

test: setup test-unit test-monitoring test-integration fuzz-smoke

# libFuzzer + ASan build in its own scratch path (.build-fuzz); see scripts/fuzz.
fuzz:
	scripts/fuzz $(FUZZ_SECONDS)

fuzz-smoke:
	scripts/fuzz --smoke $(FUZZ_SMOKE_SECONDS)

test-deb: deb
	Tests/Packaging/run

.PHONY: test-multinode
test-multinode: build
	HUGEPAGE_GUARD_BIN=$(BIN) Tests/MultiNode/run $(if $(NODES),--nodes $(NODES)) $(SCENARIO)

deb:
	packaging/build-deb

demo: setup build
	HUGEPAGE_GUARD_BIN=$(BIN) scripts/demo

bench: setup build
	HUGEPAGE_GUARD_BIN=$(BIN) scripts/benchmark

clean:
	rm -rf .build .build-fuzz
