/**
 * Child process of bench/run.ts (section 5, scale): evaluates the tools stack (index.ts, role "tools") under
 * Pulumi mocks with N target stacks, the same way tests/infra/tools-stack.test.ts ("scale") does, and sends
 * {n, resources, ms} per run to the parent over IPC. Runs in its own process so the Pulumi runtime state and
 * the ~0.5 s module load of @pulumi/aws stay out of the parent; a warm-up evaluation (the target stack, whose
 * outputs feed every stage, and one 1-stage tools run) is not timed.
 *
 * argv: JSON {"sizes":[1,10,50],"reps":2,"maxMs":60000}
 */
import { runStack, TARGET_ACCOUNT, TOOLS_ACCOUNT } from "../tests/helpers/pulumi-mocks";
import { syntheticStages } from "../tests/helpers/shipped-stacks";
import { loadStackFile } from "../tests/helpers/stack-files";
import { now } from "./lib/stats";

async function main(): Promise<void> {
    const { sizes, reps, maxMs } = JSON.parse(process.argv[2] ?? "{}") as { sizes: number[]; reps: number; maxMs: number };
    const started = now();
    const { outputs: target } = await runStack({
        stack: "target",
        accountId: TARGET_ACCOUNT,
        config: { ...loadStackFile("Pulumi.target.yaml"), "aws:allowedAccountIds": [TARGET_ACCOUNT] },
    });

    const toolsWith = async (n: number) => {
        const { stages, stackOutputs } = syntheticStages(n, target);
        const t0 = now();
        const { cloud } = await runStack({
            stack: "tools",
            accountId: TOOLS_ACCOUNT,
            config: { ...loadStackFile("Pulumi.tools.yaml"), stages },
            stackOutputs,
        });
        return { n, resources: cloud.resources.length, ms: now() - t0 };
    };

    await toolsWith(1); // warm-up: JIT, module caches
    const warmupMs = now() - started;
    for (let r = 0; r < reps; r++) {
        // Alternate the order between repetitions so drift on a shared machine does not favour one size.
        const order = r % 2 === 0 ? sizes : [...sizes].reverse();
        for (const n of order) {
            if (now() - started > maxMs) break;
            process.send!({ type: "run", rep: r, ...(await toolsWith(n)) });
        }
    }
    process.send!({ type: "done", warmupMs });
}

main().then(
    () => process.disconnect(),
    (err) => {
        process.send!({ type: "error", message: String((err as Error)?.stack ?? err) });
        process.disconnect();
        process.exitCode = 1;
    },
);
