"""`fleettui demo serve`: the seeded emulated AWS, for other terminals and tools to use."""
from __future__ import annotations


def add_parsers(add) -> None:
    demo = add("demo", "the embedded emulated AWS")
    demo_sub = demo.add_subparsers(dest="demo_command", metavar="SUBCOMMAND", required=True)
    serve = demo_sub.add_parser("serve", help="run the seeded emulated AWS until Ctrl-C and print its endpoint")
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    serve.add_argument("--config-out", metavar="PATH", help="where to write the ready config file")
    serve.add_argument("--bad", action="append", default=[], metavar="VERSION",
                       help="make this generation's CloudWatch metrics bad (5xx, latency), e.g. to watch a verdict "
                            "or a rollout's analysis fail (repeatable)")
    serve.set_defaults(handler=cmd_demo_serve)


def cmd_demo_serve(args) -> int:
    import signal
    import threading

    from fleettui.context import demo_stopped, serve_demo

    server, fleet, path = serve_demo(port=args.port, config_out=args.config_out, bad=tuple(args.bad))
    try:
        print(f"emulated AWS (moto) on {server.endpoint_url}")
        print(f"seeded {sum(len(v) for v in fleet.instance_ids.values())} instances in {', '.join(fleet.regions)}")
        print(f"config: {path}")
        print("CloudWatch: 60 minutes of metrics seeded, a new minute written every 60 s"
              + (f"; bad: {', '.join(args.bad)}" if args.bad else ""))
        print(f"  fleettui --config {path} status")
        print(f"  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing aws ec2 describe-instances "
              f"--endpoint-url {server.endpoint_url} --region us-east-1")
        print("Ctrl-C to stop.", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    finally:
        server.stop()
        demo_stopped(server)
    return 0
