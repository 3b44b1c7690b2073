"""The Compare page's facts about runs (`rnn_core.lessons.compare`): its race check, and defaults that the
page's widgets can hold and the run checks accept."""

from rnn_core.config import replace, validate_run
from rnn_core.data.registry import DATASETS
from rnn_core.lessons.compare import (
    MAP_DEFAULTS,
    MAP_GAINS,
    MAX_APP_RUNS,
    MAX_RACE_CELLS,
    RACE_CELLS,
    RACE_DATA,
    RACE_DATASETS,
    RACE_FIELDS,
    RACE_MODEL,
    RACE_PARAMS,
    RACE_TRAIN,
    SWEEP_DEFAULTS,
    SWEEP_FIELDS,
    SWEEP_TIMESTEPS,
    TEXT_RACE_CELLS,
    race_error,
)
from rnn_core.nn.cells import CELLS, layers_error


def test_race_error_refuses_one_cell_and_a_stack_of_a_cell_that_cannot_stack():
    cells = list(CELLS)
    assert race_error(cells[:1], 1) == "Pick at least two cells to race."
    assert race_error(cells, 1) is None and len(CELLS) == MAX_RACE_CELLS      # every cell may race at once
    for name, c in CELLS.items():
        if c.max_layers is not None:
            assert race_error(cells, c.max_layers + 1) == layers_error(name, c.max_layers + 1)
    stackable = [name for name, c in CELLS.items() if c.max_layers is None]
    assert race_error(stackable, 4) is None


def test_the_default_race_passes_every_run_check():
    params = RACE_PARAMS[RACE_DATA.dataset]
    for cell in RACE_CELLS:
        validate_run(replace(RACE_MODEL, cell=cell), replace(RACE_DATA, params=params), RACE_TRAIN)
    assert race_error(list(RACE_CELLS), RACE_MODEL.num_layers) is None
    assert set(RACE_CELLS) | set(TEXT_RACE_CELLS) <= set(CELLS) and set(RACE_DATASETS) <= set(DATASETS)
    for dataset, values in RACE_PARAMS.items():      # each a parameter of its dataset, in its range
        registry = {p.name: p for p in DATASETS[dataset].params}
        assert all(registry[name].coerce(value) == value for name, value in values.items())


def test_the_defaults_sit_inside_the_widgets_ranges_and_choices():
    for name, f in RACE_FIELDS.items():
        assert f.lo <= getattr(RACE_MODEL, name) <= f.hi and f.step, name
    for d in (SWEEP_DEFAULTS, MAP_DEFAULTS):
        assert set(d.timesteps) <= set(SWEEP_TIMESTEPS) and set(d.gains) <= set(MAP_GAINS)
        for name, f in SWEEP_FIELDS.items():
            assert f.lo <= getattr(d, name) <= f.hi and f.step, name
        runs = len(RACE_CELLS) * len(d.timesteps) * max(1, len(d.gains)) * d.seeds
        assert runs <= MAX_APP_RUNS
