# Two commands set up everything on a fresh machine:
#   make book   build the site into _build/html (labs executed in quick mode; QUICK=0 for full)
#   make test   unit tests, notebooks under nbval, the book build and the browser test
# Both first train the quick model catalogue (make zoo), which the labs share.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
QUICK  ?= 1
export LABKIT_DATA ?= $(abspath ../shared/data)

.PHONY: venv zoo book test test-unit test-notebooks test-site clean

$(BIN)/.installed: requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Need $(PYTHON) (Python 3.11); set PYTHON=... to another 3.11 interpreter"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@# lab 05's PROTES optimiser, without its dependencies: they are pinned above (jax, jaxlib, optax, scipy,
	@# matplotlib), and letting pip resolve protes' own requirements would downgrade numpy (below 2.0.2 on 3.11)
	$(BIN)/python -m pip install --quiet --no-deps protes==0.3.12
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

venv: $(BIN)/.installed

# the model catalogue: every network the labs use, trained once (resumable, reused from the cache);
# quick sizes, or full ones with QUICK=0
zoo: venv
	OMP_NUM_THREADS=2 $(BIN)/python -m labkit.zoo $(if $(filter 0,$(QUICK)),--full)

book: venv zoo
	$(BIN)/python tools/build_book.py --quick $(QUICK)

test-unit: venv
	$(BIN)/python -m pytest tests labkit --doctest-modules -m "not book" -n 2 --dist loadfile

test-notebooks: venv zoo
	OMP_NUM_THREADS=1 LABKIT_QUICK=1 LABKIT_STATIC=1 $(BIN)/python -m pytest --nbval-lax labs -n 2 --dist loadfile -p no:cacheprovider

test-site: venv
	$(BIN)/python -m pytest tests -m book

test: test-unit test-notebooks book test-site

clean:
	rm -rf _build
