"""What a crossbar chip is made of: tiles, chip, timing, energy, area and non-idealities, as nested frozen dataclasses.

Every field has a docstring (read by humans and by ``snnq hw presets``); every preset YAML gives every field
and says where each value comes from (see `snnq.hardware.presets`).
"""

from __future__ import annotations

from dataclasses import dataclass

from snnq.hardware.spec import non_negative, one_of, positive, require

SIGNED_ENCODINGS = ("differential", "ternary")
READOUTS = ("parallel", "row_serial", "window")


@dataclass(frozen=True, kw_only=True)
class TileSpec:
    """One crossbar array and its periphery."""

    rows: int
    """Wordlines: inputs one tile holds (rows of the unrolled weight matrix)."""
    cols: int
    """Bitlines: physical columns (one per weight slice and polarity)."""
    cell_bits: int
    """Bits per cell: ``2**cell_bits`` conductance levels; a weight of ``m`` magnitude bits takes ``ceil(m / cell_bits)`` slices."""
    signed_encoding: str
    """``differential``: a G+ and a G- column per slice (any signed code); ``ternary``: one pair of 1-level cells per weight, codes in {-1, 0, 1} only (S1)."""
    adc_bits: int
    """Resolution of one conversion (1 = a sense amplifier)."""
    cols_per_adc: int
    """Columns (``window`` readout: neurons) that share one converter, converted one after another."""
    readout: str
    """``parallel``: all active rows read at once each step, every used column converted each step (analog crossbar);
    ``row_serial``: one active row per read, columns sensed and accumulated digitally (event-driven digital core);
    ``window``: the columns integrate the whole T-step window in analog and convert once per window (integer signals, S0)."""

    def __post_init__(self) -> None:
        positive(self, "rows", "cols", "cell_bits", "adc_bits", "cols_per_adc")
        one_of(self, "signed_encoding", SIGNED_ENCODINGS)
        one_of(self, "readout", READOUTS)
        require(self.cell_bits <= 8, "cell_bits", f"must be <= 8 (256 levels), got {self.cell_bits}")
        require(self.adc_bits <= 16, "adc_bits", f"must be in 1..16, got {self.adc_bits}")
        require(self.cols >= 2, "cols", f"a differential pair needs >= 2 columns, got {self.cols}")


@dataclass(frozen=True, kw_only=True)
class ChipSpec:
    """The whole chip."""

    tiles: int
    """Tiles (cores) on the chip."""
    clock_hz: float
    """Clock of the periphery and the digital logic."""
    voltage_v: float
    """Supply voltage (documentation; energies are given at this voltage)."""
    duplicate: bool
    """Copy a conv layer's weights onto free tiles so that copies evaluate output positions in parallel."""
    pack: bool
    """Let blocks smaller than a tile share it block-diagonally (also across layers) to raise utilisation."""

    def __post_init__(self) -> None:
        positive(self, "tiles", "clock_hz", "voltage_v")


@dataclass(frozen=True, kw_only=True)
class TimingSpec:
    """Cycle counts (see `snnq.hardware.crossbar.costs` for the latency equations)."""

    read_cycles: float
    """Cycles of one crossbar read: all active rows (``parallel``, ``window`` per step) or one row event (``row_serial``)."""
    adc_cycles_per_bit: float
    """Conversion time per ADC bit (a SAR converter resolves one bit per cycle)."""
    neuron_cycles: float
    """Cycles to update a tile's neurons after an evaluation (columns in parallel)."""
    layer_overhead_cycles: float
    """Fixed cycles per layer and time step (synchronisation between layers)."""
    bus_bits: int
    """Bits per cycle of the on-chip network that moves spike events and partial sums."""
    digital_ops_per_cycle: float
    """Pooling / residual-add operations the digital periphery does per cycle."""

    def __post_init__(self) -> None:
        positive(self, "read_cycles", "bus_bits", "digital_ops_per_cycle")
        non_negative(self, "adc_cycles_per_bit", "neuron_cycles", "layer_overhead_cycles")


@dataclass(frozen=True, kw_only=True)
class EnergySpec:
    """Energies per event, in picojoules, and static power."""

    cell_pj: float
    """Per cell read: one active row crossing one used column (``V^2 G t_read``), per step."""
    driver_pj: float
    """Per row activation in one tile (wordline driver / spike generator)."""
    adc_pj: float
    """Per conversion at ``adc_ref_bits``; a b-bit conversion costs ``adc_pj * 2^(b - adc_ref_bits)`` (Walden figure of merit)."""
    adc_ref_bits: int
    """Resolution at which ``adc_pj`` (and the ADC area) is given."""
    accumulate_pj_per_bit: float
    """Digital shift-and-add of slice and row-block partial sums, per conversion and accumulator bit."""
    neuron_pj_per_bit: float
    """Per neuron update (add, compare, reset) and membrane bit."""
    transfer_pj_per_bit: float
    """Per bit moved over the on-chip network (spike addresses, partial sums)."""
    digital_op_pj: float
    """Per pooling or residual-add operation."""
    static_w: float
    """Static power of the chip (leakage, clock tree), charged for the whole latency."""

    def __post_init__(self) -> None:
        non_negative(self, "cell_pj", "driver_pj", "adc_pj", "accumulate_pj_per_bit", "neuron_pj_per_bit", "transfer_pj_per_bit", "digital_op_pj", "static_w")
        positive(self, "adc_ref_bits")

    def adc(self, bits: int) -> float:
        """Energy of one ``bits``-bit conversion in pJ."""
        return self.adc_pj * 2.0 ** (bits - self.adc_ref_bits)


@dataclass(frozen=True, kw_only=True)
class AreaSpec:
    """Areas in square micrometres (chip overhead in mm^2)."""

    cell_um2: float
    """One cell (1T1R, or one SRAM bit cell)."""
    driver_um2: float
    """One wordline driver (per row per tile)."""
    adc_um2: float
    """One converter at ``EnergySpec.adc_ref_bits``; a b-bit one takes ``adc_um2 * 2^(b - ref) ** adc_area_exponent``."""
    adc_area_exponent: float
    """How converter area follows ``2^bits``: 1 for a capacitive-DAC SAR (area doubles per bit), 0 for bit-independent."""
    neuron_um2_per_bit: float
    """Accumulator / neuron register per output column pair and membrane bit."""
    tile_overhead_um2: float
    """Control, buffers and router of one tile."""
    chip_overhead_mm2: float
    """Global control, I/O and buffers of the chip."""

    def __post_init__(self) -> None:
        non_negative(self, "cell_um2", "driver_um2", "adc_um2", "adc_area_exponent", "neuron_um2_per_bit", "tile_overhead_um2", "chip_overhead_mm2")


@dataclass(frozen=True, kw_only=True)
class NonIdealSpec:
    """Device and converter non-idealities of the simulation (all zero: exactly the ideal integers)."""

    conductance_levels: int
    """Distinct conductances a device can be programmed to (0: as many as the cell needs); fewer levels round the weights."""
    g_off_ratio: float
    """Off-state conductance relative to the on state (1 / on-off ratio); offsets cancel in a differential pair unless varied."""
    d2d_sigma: float
    """Device-to-device variation: relative std of each programmed conductance (fixed per chip, drawn from the seed)."""
    read_sigma: float
    """Read (cycle-to-cycle) noise: relative std of each cell's conductance at every read."""
    stuck_on_rate: float
    """Fraction of cells stuck at the highest conductance."""
    stuck_off_rate: float
    """Fraction of cells stuck at the lowest conductance."""
    adc_clip: bool
    """Converters saturate at ``2^adc_bits - 1`` levels (False: ideal converters of unlimited range)."""

    def __post_init__(self) -> None:
        non_negative(self, "conductance_levels", "g_off_ratio", "d2d_sigma", "read_sigma", "stuck_on_rate", "stuck_off_rate")
        require(self.conductance_levels == 0 or self.conductance_levels >= 2, "conductance_levels", f"must be 0 (ideal) or >= 2, got {self.conductance_levels}")
        require(self.stuck_on_rate + self.stuck_off_rate <= 1, "stuck_on_rate", "stuck_on_rate + stuck_off_rate must be <= 1")
        require(self.g_off_ratio < 1, "g_off_ratio", f"must be < 1 (off below on), got {self.g_off_ratio}")

    @classmethod
    def ideal(cls) -> NonIdealSpec:
        """No non-ideality at all."""
        return cls(conductance_levels=0, g_off_ratio=0.0, d2d_sigma=0.0, read_sigma=0.0, stuck_on_rate=0.0, stuck_off_rate=0.0, adc_clip=False)


@dataclass(frozen=True, kw_only=True)
class CrossbarSpec:
    """A crossbar chip: what the ``crossbar`` backend maps a network onto."""

    tile: TileSpec
    """The crossbar array and its periphery."""
    chip: ChipSpec
    """Tile count, clock, mapping policy."""
    timing: TimingSpec
    """Cycle counts."""
    energy: EnergySpec
    """Energies per event and static power."""
    area: AreaSpec
    """Areas."""
    nonideal: NonIdealSpec
    """Non-idealities used by the simulation."""
