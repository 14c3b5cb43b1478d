"""``lift2d3d bench``: solver speed and optimality figures."""

NAME = "bench"
HELP = ("Frames/s (1 thread and all threads; the fused method's network and fit apart), ADMM iterations and the "
        "objective gap to CVXPY.")


def add_arguments(parser):
    parser.add_argument("--bases", default="default", help="shipped bases name or .npz path (default: default)")
    parser.add_argument("--frames", type=int, default=10_000, help="number of poses (default 10000)")
    parser.add_argument("--gap-frames", type=int, default=20, help="frames solved by CVXPY for the gap (default 20)")
    parser.add_argument("--threads", type=int, default=None, help="threads for the parallel run (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--network", default="default", metavar="NAME|NPZ",
                        help="lifting network of the fused method's row (default: default)")


def run(args):
    from ..benchmark import run_benchmark

    run_benchmark(args.bases, n_frames=args.frames, n_gap=args.gap_frames, seed=args.seed, threads=args.threads,
                  network=args.network)
    return 0
