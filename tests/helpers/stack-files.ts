import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

export const ROOT = path.resolve(__dirname, "../..");

// CloudFormation's short-form tags (`!GetAtt X.Arn`, `!Ref X`, …) as the long form, so serverless.yml parses.
const CFN_FUNCTIONS = ["Base64", "Cidr", "FindInMap", "GetAtt", "GetAZs", "ImportValue", "Join", "Select", "Split", "Sub", "And", "Equals", "If", "Not", "Or", "Condition"];
const cfnTypes = [
    ...["scalar", "sequence", "mapping"].map((kind) => new yaml.Type("!Ref", { kind: kind as "scalar", construct: (data) => ({ Ref: data }) })),
    ...CFN_FUNCTIONS.flatMap((fn) =>
        ["scalar", "sequence", "mapping"].map(
            (kind) =>
                new yaml.Type(`!${fn}`, {
                    kind: kind as "scalar",
                    construct: (data) => ({ [`Fn::${fn}`]: fn === "GetAtt" && typeof data === "string" ? data.split(".") : data }),
                }),
        ),
    ),
];
const CFN_SCHEMA = yaml.DEFAULT_SCHEMA.extend(cfnTypes);

/** The `config:` map of a shipped `Pulumi.<stack>.yaml`, keys as written (`<project>:key`, `aws:region`). */
export function loadStackFile(file: string): Record<string, unknown> {
    const parsed = loadYaml<{ config?: Record<string, unknown> }>(file);
    if (!parsed?.config) throw new Error(`${file} has no config block`);
    return parsed.config;
}

/** A YAML file of the repository; CloudFormation short-form tags are read as their long form. */
export function loadYaml<T = any>(file: string): T {
    return yaml.load(fs.readFileSync(path.join(ROOT, file), "utf8"), { schema: CFN_SCHEMA }) as T;
}
