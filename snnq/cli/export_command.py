"""``snnq export``: a run directory's integer network as a NIR file, a deployment package, or an RTL configuration.

    snnq export nir RUN_DIR FILE [--form auto|levels|native] [--strict]
                                     NIR graph with quantization metadata (snnq.export.nir_export); --strict fails
                                     where snnTorch's or SpikingJelly's importer would not reproduce it exactly
    snnq export deploy RUN_DIR DIR   integer weights and thresholds (.npz, .mem), manifest.json with checksums and
                                     a numpy-only runner (DIR/snnq_runner.py) (snnq.export.deploy)
    snnq export verify DIR           check a deployment directory against its manifest's checksums
    snnq export rtl RUN_DIR DIR [--lanes N] [--synth]
                                     the reference core's parameters for the network (core.json) and its Yosys
                                     script (synth_xc7.ys); --synth runs Yosys and writes synthesis.json and
                                     synthesis.md beside the fpga backend's estimate (snnq.export.synthesis)

RUN_DIR holds network.ir.npz (and hw_inputs.npz).
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="NIR files, integer deployment packages and RTL configurations of a run")
    commands = parser.add_subparsers(dest="export_command", required=True, metavar="export_command")
    nir = commands.add_parser("nir", help="write a NIR graph of the run's integer network, with its quantization")
    nir.add_argument("run_dir", help="directory holding network.ir.npz")
    nir.add_argument("file", help="the NIR file to write")
    nir.add_argument("--form", default="auto", choices=["auto", "levels", "native"], help="levels: one exact step; native: one node per layer")
    nir.add_argument("--strict", action="store_true", help="fail where snnTorch's or SpikingJelly's importer would not be exact")
    nir.set_defaults(run=run_nir)
    deploy = commands.add_parser("deploy", help="write the integer deployment package of the run")
    deploy.add_argument("run_dir", help="directory holding network.ir.npz (and hw_inputs.npz)")
    deploy.add_argument("directory", help="the deployment directory to write")
    deploy.set_defaults(run=run_deploy)
    verify = commands.add_parser("verify", help="check a deployment directory against its manifest")
    verify.add_argument("directory")
    verify.set_defaults(run=run_verify)
    rtl = commands.add_parser("rtl", help="the reference core's configuration for the run's network (and its synthesis)")
    rtl.add_argument("run_dir", help="directory holding network.ir.npz (and hw_inputs.npz for the fpga estimate's activity)")
    rtl.add_argument("directory", help="where core.json, synth_xc7.ys (and synthesis.json, synthesis.md) go")
    rtl.add_argument("--lanes", type=int, default=16, help="processing elements of the core (a power of two)")
    rtl.add_argument("--synth", action="store_true", help="run Yosys synth_xilinx (xc7) and report LUT/FF/DSP/BRAM")
    rtl.add_argument("--preset", default="nimbekar2024_pynq_z2", help="fpga preset whose estimate goes beside the synthesis")
    rtl.set_defaults(run=run_rtl)


def run_nir(args: argparse.Namespace) -> int:
    import nir

    from snnq.export.nir_export import export_nir, read_meta

    with warnings.catch_warnings():  # the same facts are printed below, from the file's metadata
        warnings.simplefilter("ignore")
        path = export_nir(args.run_dir, args.file, form=args.form, strict=args.strict)
    facts = read_meta(nir.read(path)) or {}
    print(f"wrote {path}: {facts.get('form')} form, {facts.get('steps_to_run')} step(s), exact in {', '.join(facts.get('exact_in', []))}")
    for name, why in facts.get("not_exact_in", {}).items():
        print(f"  not exact in {name}: {why}")
    return 0


def run_deploy(args: argparse.Namespace) -> int:
    from snnq.export.deploy import export_deploy

    manifest = export_deploy(args.run_dir, args.directory)
    files = json.loads(manifest.read_text())["files"]
    print(f"wrote {manifest.parent}: {len(files)} files with checksums in {manifest.name}; run it with python {manifest.parent / 'snnq_runner.py'}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from snnq.export.deploy import verify_deployment

    manifest = verify_deployment(args.directory)
    print(f"{args.directory}: {len(manifest['files'])} files match {Path(args.directory, 'manifest.json')}")
    return 0


def run_rtl(args: argparse.Namespace) -> int:
    from snnq.export.rtl_core import core_parameters_for
    from snnq.export.synthesis import fpga_estimate, synthesis_markdown, synthesis_script, synthesize, within_board
    from snnq.hardware.ir_io import load_ir
    from snnq.hardware.report import INPUTS_FILENAME, atomic_write_bytes

    network = load_ir(args.run_dir)
    params = core_parameters_for(network, lanes=args.lanes)
    out = Path(args.directory)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "core.json", (json.dumps({"network": network.name, "parameters": params.verilog()}, indent=2) + "\n").encode())
    atomic_write_bytes(out / "synth_xc7.ys", synthesis_script(params, stat_file="stat.json").encode())
    print(f"wrote {out / 'core.json'} and {out / 'synth_xc7.ys'} (run: yosys {out / 'synth_xc7.ys'})")
    if not args.synth:
        return 0
    result = synthesize(params)
    calibrated = network
    inputs_file = Path(args.run_dir) / INPUTS_FILENAME
    if inputs_file.is_file():
        import numpy as np

        from snnq.hardware.simulate import calibrate

        with np.load(inputs_file, allow_pickle=False) as data:
            calibrated = calibrate(network, data["inputs"])
    estimates = [fpga_estimate(calibrated, preset=args.preset), fpga_estimate(calibrated, preset=args.preset, lanes=args.lanes)]
    document = {"synthesis": result.to_dict(), "fpga_estimates": estimates, "within_board": within_board(result.resources, estimates[0]["board"])}
    atomic_write_bytes(out / "synthesis.json", (json.dumps(document, indent=2) + "\n").encode())
    atomic_write_bytes(out / "synthesis.md", synthesis_markdown(result, estimates, network=network.name).encode())
    r = result.resources
    print(f"yosys synth_xilinx: LUT {r['LUT']}, FF {r['FF']}, DSP {r['DSP']}, BRAM18 {r['BRAM18']}; wrote synthesis.json and synthesis.md")
    return 0
