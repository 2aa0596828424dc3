// The deploy kit (deploy-kit/main.ts and what it imports) as the one JavaScript file the pipeline's Deploy and
// drift-check builds run. Bundled here, when the tools stack is evaluated, from this checkout — so a build runs the
// code of the tools stack's last `pulumi up`, never the code of the commit it deploys. Deterministic: the same
// sources give the same bytes, so the object's key (its SHA-256) changes only when the kit does.
import { buildSync } from "esbuild";
import { createHash } from "node:crypto";
import { join } from "node:path";

export interface DeployKitBundle {
    readonly code: string;
    readonly sha256: string;
    /** Key of the object in the build-assets bucket: content-addressed. */
    readonly key: string;
}

let bundled: DeployKitBundle | undefined;

/** The kit, bundled once per process (Node.js 22, CommonJS, no dependencies at run time). */
export function deployKitBundle(): DeployKitBundle {
    if (bundled) return bundled;
    const result = buildSync({
        absWorkingDir: join(__dirname, ".."),
        entryPoints: [join(__dirname, "..", "deploy-kit", "main.ts")],
        bundle: true,
        platform: "node",
        target: "node22",
        format: "cjs",
        // Readable on purpose: whoever reviews what the pipeline runs can read the object itself.
        minify: false,
        legalComments: "none",
        write: false,
        logLevel: "silent",
        banner: { js: "// deploy-kit: bundled by the tools stack from deploy-kit/main.ts; see README (security model)." },
    });
    const code = result.outputFiles[0].text;
    const sha256 = createHash("sha256").update(code).digest("hex");
    bundled = { code, sha256, key: `deploy-kit/${sha256}.js` };
    return bundled;
}
