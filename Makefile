# Every target works on a fresh machine with only python3: `make setup` creates .venv and installs the project.
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
# The venv's bin/ comes first on PATH in every target: Jupyter kernels start `python` from PATH, and nbgrader
# calls `alembic` when it creates a gradebook.
export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg
STAMP := $(VENV)/.installed-stamp
COURSE := notebooks
ASSIGNMENTS := regularization deep_regularization
# The assignment that autograde, feedback and lab work on: `make autograde ASSIGNMENT=deep_regularization`.
ASSIGNMENT ?= regularization
NOTEBOOK_regularization := Regularization.ipynb
NOTEBOOK_deep_regularization := DeepRegularization.ipynb
NOTEBOOK := $(NOTEBOOK_$(ASSIGNMENT))

.PHONY: setup test demo release student-kit autograde feedback grades validate lab clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $@

test: setup
	$(BIN)/python -m pytest --nbval -p no:cacheprovider tests $(COURSE)/source

demo: setup release
	$(BIN)/python -m course.demo

release: setup
	cd $(COURSE) && for a in $(ASSIGNMENTS); do $(BIN)/nbgrader generate_assignment $$a --force --quiet || exit 1; done

# What an instructor hands to students, as dist/regularization-course-student-<version>.zip: the release notebooks, a
# wheel of reg_utils and testCases, requirements.txt and a README; never the instructor package course.
student-kit: setup release
	$(BIN)/python -m course.student_kit

# Grade every notebook in notebooks/submitted/STUDENT/$(ASSIGNMENT)/ (collect them there first), in JOBS parallel
# workers: nbgrader's autograde per student in a private copy of the course, then a verification pass that re-runs
# each graded function in a clean process; only the main process writes the course gradebook.
JOBS ?= 1
autograde: release
	$(BIN)/python -m course.autograde --course $(COURSE) --assignment $(ASSIGNMENT) --notebook $(NOTEBOOK) --jobs $(JOBS)

# HTML feedback per student in notebooks/feedback/: messages, hints and points, no hidden test source.
feedback: setup
	cd $(COURSE) && $(BIN)/nbgrader generate_feedback $(ASSIGNMENT) --force

# Every student's scores, from the gradebook, as notebooks/grades.csv.
grades: setup
	cd $(COURSE) && $(BIN)/nbgrader export --to grades.csv

# A student checks a notebook before submitting: exits 1 unless every check passes.
#   make validate NB=notebooks/release/regularization/Regularization.ipynb
validate: setup
	$(BIN)/python -m course.validate $(NB)

lab: setup
	cd $(COURSE)/release/$(ASSIGNMENT) && $(BIN)/jupyter lab $(NOTEBOOK)

clean:
	rm -rf $(VENV) build *.egg-info
