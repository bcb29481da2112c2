# vmserial: the two commands a new user needs are `make demo` and `make test`.
# Both set the host up first (Debian packages, libvirt daemon, probe images).

SWIFT        ?= swift
CONFIG       ?= debug
BIN          := .build/$(CONFIG)/vmserial
DEMO_DIR     := images/build/demo
export LIBVIRT_DEFAULT_URI ?= qemu:///system
# The demo keeps its own registry so it never mixes with a real one.
DEMO_REGISTRY ?= $(CURDIR)/images/build/demo/registry.sqlite

.PHONY: all deps images build demo demo-disks scenario-disks test unit integration bench fuzz clean help

all: build

help:
	@echo "make demo         set up the host, build, launch examples/vm1.json and verify it from inside"
	@echo "make test         set up the host, build, run unit and integration tests (real libvirt + QEMU)"
	@echo "make unit         the fast unit tests only (no daemon, no guest)"
	@echo "make integration  the integration tests only"
	@echo "make bench        benchmarks: verify vs a bare QEMU boot; migrate vs qemu-img convert; registry; guest mode vs appliance + boot"
	@echo "make fuzz         libFuzzer on the spec, scenario, report, domain XML and hive parsers (FUZZ_SECONDS=60 each)"
	@echo "make deps         Debian packages and the libvirt daemon (scripts/host-setup.sh)"
	@echo "make images       the probe guest, the small Linux guest disk and the Debian guest (images/build/)"

deps:
	@bash scripts/host-setup.sh

images: deps
	@$(MAKE) --no-print-directory -C images probe guest appliance debian

build:
	$(SWIFT) build -c $(CONFIG) --product vmserial

demo-disks: images
	@mkdir -p $(DEMO_DIR)
	@test -f $(DEMO_DIR)/root.qcow2 || qemu-img create -q -f qcow2 $(DEMO_DIR)/root.qcow2 64M
	@test -f $(DEMO_DIR)/data.qcow2 || qemu-img create -q -f qcow2 $(DEMO_DIR)/data.qcow2 64M
	@test -f $(DEMO_DIR)/share.img  || qemu-img create -q -f raw   $(DEMO_DIR)/share.img 32M
	@for d in system data logs scratch; do \
	  test -f $(DEMO_DIR)/q35-$$d.qcow2 || qemu-img create -q -f qcow2 $(DEMO_DIR)/q35-$$d.qcow2 16M; done

# The data disks of the bundled scenarios' VM (scenarios/vm.json); the root disk is the test guest.
SCENARIO_DIR := images/build/scenario
scenario-disks: images
	@mkdir -p $(SCENARIO_DIR)
	@for d in data logs; do \
	  test -f $(SCENARIO_DIR)/$$d.qcow2 || qemu-img create -q -f qcow2 $(SCENARIO_DIR)/$$d.qcow2 16M; done

demo: deps images build demo-disks
	VMSERIAL_REGISTRY=$(DEMO_REGISTRY) $(BIN) launch examples/vm1.json
	@echo "--- the example guest (the probe kernel) reports and powers itself off; waiting for it"
	@for i in $$(seq 1 120); do \
	  virsh domstate vm1 2>/dev/null | grep -q 'shut off' && break; sleep 1; done
	VMSERIAL_REGISTRY=$(DEMO_REGISTRY) $(BIN) serials --domain vm1
	VMSERIAL_REGISTRY=$(DEMO_REGISTRY) $(BIN) verify --domain vm1 --reboots 1

test: deps images scenario-disks
	$(SWIFT) build --build-tests
	bash scripts/test-postgres.sh run $(SWIFT) test --skip-build

unit:
	bash scripts/test-postgres.sh run $(SWIFT) test --skip IntegrationTests

integration: deps images scenario-disks
	$(SWIFT) build --build-tests
	bash scripts/test-postgres.sh run $(SWIFT) test --skip-build --filter IntegrationTests

bench: deps images
	$(SWIFT) build -c release --product vmserial --static-swift-stdlib
	bash bench/verify-vs-qemu.sh
	bash bench/migrate-vs-convert.sh
	bash bench/registry.sh
	bash bench/guest-vs-appliance.sh

# libFuzzer on each parser of untrusted input, FUZZ_SECONDS each; a separate build (.build-fuzz).
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) SWIFT=$(SWIFT) bash scripts/fuzz.sh

clean:
	rm -rf .build .build-fuzz Fuzz/out images/build
