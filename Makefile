# Every target works on a fresh machine with only python3: `make setup` creates .venv and installs the project.
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
# The venv's bin/ comes first on PATH in every target: Jupyter kernels start `python` from PATH, and nbgrader
# calls `alembic` when it creates a gradebook.
export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg
# The stored notebook outputs (which nbval compares to the last digit) were computed with OpenBLAS's Haswell kernels:
# other kernels (chosen by CPU when this is unset) change the last digits of costs and float32 training. Haswell's
# AVX2 kernels run on every x86-64 CPU of the last decade; a machine that sets its own value keeps it.
# NumPy picks its own SIMD code for exp, log and friends by CPU too, and its AVX-512 code (X86_V4) rounds some last
# digits differently from its AVX2 code: the outputs were computed with AVX2, which every such CPU has.
ifeq ($(shell uname -m),x86_64)
export OPENBLAS_CORETYPE ?= Haswell
export NPY_DISABLE_CPU_FEATURES ?= X86_V4 AVX512_ICL AVX512_SPR
endif
STAMP := $(VENV)/.installed-stamp
COURSE := notebooks
# The assignments and their notebooks come from the assignment registry (course/assignments/), read when a recipe
# needs them (after setup): nothing here names an assignment's notebook.
ASSIGNMENTS = $(shell $(BIN)/python -m course.assignments list)
# The assignment that autograde, feedback and lab work on: `make autograde ASSIGNMENT=deep_regularization`.
ASSIGNMENT ?= regularization
NOTEBOOK = $(shell $(BIN)/python -m course.assignments notebook $(ASSIGNMENT))

.PHONY: setup test demo release student-kit autograde feedback grades report regrade validate lab clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev,cluster]"
	@# The grading sandbox is Debian's bubblewrap: installed here when it is missing and we may (root with apt).
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; } \
		|| echo "warning: bubblewrap (bwrap) is missing: make autograde will refuse to grade until it is installed"
	@touch $@

# Two pytest-xdist workers, one per core: one grades the shared classes (tests/conftest.py keeps the modules that read
# them together) while the other runs the rest; TEST_WORKERS=0 runs every test in this one process. Then nbval
# re-executes the source notebooks, one per worker, on their own: their stored outputs were computed with two BLAS
# threads (one thread changes last digits), and two BLAS threads beside a grading class spin against each other
# (a training cell took 61 s instead of 7).
TEST_WORKERS ?= 2
test: setup
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder -p no:cacheprovider \
		--durations=25 tests
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope --nbval -p no:cacheprovider --durations=5 $(COURSE)/source

demo: setup release
	$(BIN)/python -m course.demo

release: setup
	cd $(COURSE) && for a in $(ASSIGNMENTS); do $(BIN)/nbgrader generate_assignment $$a --force --quiet || exit 1; done

# What an instructor hands to students, as dist/regularization-course-student-<version>.zip: the release notebooks, a
# wheel of reg_utils and testCases, requirements.txt and a README; never the instructor package course.
student-kit: setup release
	$(BIN)/python -m course.student_kit

# Grade the new and changed notebooks in notebooks/submitted/STUDENT/$(ASSIGNMENT)/ (FORCE=1: all of them), in JOBS parallel
# workers: nbgrader's autograde per student in a private copy of the course, then a verification pass that re-runs
# each graded function in a clean process; student code runs only inside the OS sandbox (bubblewrap), and only the
# main process writes the course gradebook. Without a working sandbox it refuses to grade; UNSAFE_NO_SANDBOX=1
# grades anyway and says so in every score's comment.
# On a Dask cluster: SCHEDULER=tcp://host:8786, or SCHEDULER=local for JOBS workers on this machine.
JOBS ?= 1
autograde: release
	$(BIN)/python -m course.autograde --course $(COURSE) --assignment $(ASSIGNMENT) --jobs $(JOBS) \
		$(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(FORCE),--force) $(if $(UNSAFE_NO_SANDBOX),--unsafe-no-sandbox)

# HTML feedback per student in notebooks/feedback/: messages, hints and points, no hidden test source. nbgrader's
# generate_feedback, in JOBS processes (each writes the pages of its share of the students).
feedback: setup
	$(BIN)/python -m course.feedback_pages --course $(COURSE) --assignment $(ASSIGNMENT) --jobs $(JOBS)

# Every student's scores, from the gradebook: FORMAT=csv (the default) is nbgrader's export, notebooks/grades.csv;
# FORMAT=canvas or FORMAT=moodle writes notebooks/grades-FORMAT.csv, one column per graded exercise plus the total,
# in the layout that platform's gradebook import reads (course/lms.py says which).
FORMAT ?= csv
grades: setup
	$(BIN)/python -m course.lms --course $(COURSE) --format $(FORMAT)

# The class report of $(ASSIGNMENT), from the gradebook and the grading notes: notebooks/reports/ASSIGNMENT.html (one
# self-contained page, figures inline) and notebooks/reports/ASSIGNMENT.json (the same numbers).
report: setup
	$(BIN)/python -m course.report --course $(COURSE) --assignment $(ASSIGNMENT)

# Grade every stored submission of $(ASSIGNMENT) again with the current grader, in a temporary copy of the course;
# print which scores change and why (also notebooks/reports/ASSIGNMENT-regrade.csv), then write them to the
# gradebook (manual scores stand) unless DRY_RUN=1.
regrade: setup
	$(BIN)/python -m course.regrade --course $(COURSE) --assignment $(ASSIGNMENT) --jobs $(JOBS) \
		$(if $(filter 1 yes true,$(DRY_RUN)),--dry-run) $(if $(UNSAFE_NO_SANDBOX),--unsafe-no-sandbox)

# A student checks a notebook before submitting: exits 1 unless every check passes.
#   make validate NB=notebooks/release/ASSIGNMENT/NOTEBOOK.ipynb (the release notebook you worked in)
validate: setup
	$(BIN)/python -m course.validate $(NB)

lab: setup
	cd $(COURSE)/release/$(ASSIGNMENT) && $(BIN)/jupyter lab $(NOTEBOOK)

clean:
	rm -rf $(VENV) build *.egg-info
