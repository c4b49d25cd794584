# deepcx — top-level driver over CMake. See README.md.
#   make          build into build/ (CLI at build/deepcx)
#   make check    install missing Debian packages, build, run every test
#                 (fuzzers, ASan+UBSan build, then the normal build incl. slow tests)
#   make quick    build and run the fast tests only (no slow label, no sanitizers)
#   make demo     install missing packages, build, run the main job
#   make valgrind run the fast tests under valgrind
#   make bench    run the benchmarks in bench/ (needs python3-numpy etc.)
#   make MPI=1    build the MPI variant into build-mpi/ (mpirun -np P build-mpi/deepcx …)
#   make check-mpi  build build-mpi/ and run its MPI tests (tests/cli_mpi.sh)
JOBS ?= 2
FUZZ_SECONDS ?= 20
CMAKE ?= cmake

.PHONY: all build build-mpi check quick check-asan check-mpi fuzz demo bootstrap valgrind bench clean

all: build

ifeq ($(MPI),1)
build: build-mpi
else
build:
	@$(CMAKE) -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@$(CMAKE) --build build -j$(JOBS) -- --no-print-directory
endif

build-mpi:
	@$(CMAKE) -S . -B build-mpi -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDEEPCX_MPI=ON >/dev/null
	@$(CMAKE) --build build-mpi -j$(JOBS) -- --no-print-directory

# the MPI variant: its MPI tests, and the sharded-input test of the same build
check-mpi: build-mpi
	cd build-mpi && ctest --output-on-failure -R 'cli_mpi|cli_inputs|test_sources'

bootstrap:
	@bash scripts/bootstrap

quick: build
	cd build && ctest --output-on-failure -LE slow -j$(JOBS)

check: bootstrap build
	@$(MAKE) --no-print-directory fuzz
	@$(MAKE) --no-print-directory check-asan
	@$(MAKE) --no-print-directory check-mpi
	cd build && ctest --output-on-failure -j$(JOBS)

check-asan:
	@$(CMAKE) -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDEEPCX_SANITIZE=ON -DCMAKE_C_FLAGS="-O1 -g" >/dev/null
	@$(CMAKE) --build build-asan -j$(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -LE slow -j$(JOBS)

fuzz:
	@CC=clang $(CMAKE) -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DDEEPCX_FUZZ=ON >/dev/null
	@$(CMAKE) --build build-fuzz -j$(JOBS)
	@bash scripts/run-fuzzers build-fuzz/fuzz tests/fuzz/corpus $(FUZZ_SECONDS)

valgrind: build
	@bash scripts/valgrind build

demo: bootstrap build
	@bash scripts/demo

bench: build
	@bash bench/run.sh

clean:
	rm -rf build build-asan build-fuzz build-mpi
