# HoloHisto: the two commands the README promises, and their parts.
#   make demo   set up, build, and run the main job on the shipped slide
#   make test   set up, build, and run the test suite

SWIFT ?= swift
# oneDNN's OpenMP threads spin while idle by default and starve the Tensor
# module's own Dispatch loops on small machines; libgomp reads this at load.
export OMP_WAIT_POLICY ?= passive
DEMO_SLIDE := demo/kidney-mosaic.tif
DEMO_TRUTH := demo/kidney-mosaic-truth.tif
DEMO_OUT := demo-output

.PHONY: setup build release demo test bench clean

setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release

MODEL := models/glomeruli/holohisto

# The tiles' µm/px is unknown, so the scale is given: the model was trained
# on the tiles halved (downsample 2).
demo: release
	@mkdir -p $(DEMO_OUT)
	.build/release/holohisto info $(DEMO_SLIDE)
	.build/release/holohisto segment $(DEMO_SLIDE) --model $(MODEL) --downsample 2 \
	  -o $(DEMO_OUT)/kidney-mosaic.tif
	.build/release/holohisto evaluate --pred $(DEMO_OUT)/kidney-mosaic.tif \
	  --truth $(DEMO_TRUTH) --slide $(DEMO_SLIDE)

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench: release
	bash scripts/bench/run_slide_bench.sh
	.build/release/tensor-bench

clean:
	rm -rf .build $(DEMO_OUT)
