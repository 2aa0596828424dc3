/**
 * CodePipeline variables (reference-variables.html): `#{namespace.key}` in an action's configuration is resolved
 * before the action runs, from the reserved `codepipeline` namespace (PipelineExecutionId), the V2 pipeline-level
 * `variables` namespace, and the namespaces of actions that ran before it in this execution. A reference that
 * cannot be resolved fails the action with CodePipeline's message ("An action in this pipeline failed because
 * one or more variables could not be resolved: Action name=…"). Values are substituted into the raw string, so
 * a value holding a double quote breaks the JSON of a CodeBuild action's EnvironmentVariables, as in CodePipeline.
 * Also: the VariableCheck rule of V2 stage conditions (rule-reference-VariableCheck.html).
 */

export type Variables = Record<string, Record<string, string>>;

const REFERENCE = /#\{([A-Za-z0-9@_-]+)\.([A-Za-z0-9@_-]+)\}/g;

export function variableReferences(text: string): { namespace: string; key: string }[] {
    return [...text.matchAll(REFERENCE)].map((m) => ({ namespace: m[1], key: m[2] }));
}

export function resolveVariables(text: string, variables: Variables, actionName: string): string {
    const missing: string[] = [];
    const resolved = text.replace(REFERENCE, (whole, namespace: string, key: string) => {
        const value = variables[namespace]?.[key];
        if (value === undefined)
            missing.push(
                `${whole} (${variables[namespace] ? `no variable ${key} in namespace ${namespace}` : `namespace ${namespace} has no variables yet`})`,
            );
        return value ?? whole;
    });
    if (missing.length > 0) {
        throw new Error(
            `An action in this pipeline failed because one or more variables could not be resolved: Action name=${actionName}: ${missing.join(", ")}`,
        );
    }
    return resolved;
}

export function resolveConfiguration(
    configuration: Record<string, string>,
    variables: Variables,
    actionName: string,
): Record<string, string> {
    return Object.fromEntries(Object.entries(configuration).map(([k, v]) => [k, resolveVariables(v, variables, actionName)]));
}

export interface VariableCheckOutcome {
    readonly rule: string;
    readonly passed: boolean;
    readonly detail: string;
}

/**
 * A VariableCheck rule: `Variable` (a #{…} reference) compared with `Value` by `Operator` EQ, NE, CONTAINS or
 * MATCHES (a regular expression the whole value must match; CodePipeline's are Java regexes, evaluated here by
 * JavaScript's, which agree on the common syntax). An unresolvable variable fails the rule.
 */
export function variableCheck(rule: string, configuration: Record<string, string>, variables: Variables): VariableCheckOutcome {
    const { Variable: reference, Value: expected, Operator: operator } = configuration;
    if (reference === undefined || expected === undefined || operator === undefined) {
        throw new Error(`rule ${rule}: VariableCheck needs Variable, Value and Operator; got ${JSON.stringify(configuration)}`);
    }
    let actual: string;
    try {
        actual = resolveVariables(reference, variables, rule);
    } catch (error) {
        return { rule, passed: false, detail: (error as Error).message };
    }
    const checks: Record<string, () => boolean> = {
        EQ: () => actual === expected,
        NE: () => actual !== expected,
        CONTAINS: () => actual.includes(expected),
        MATCHES: () => new RegExp(`^(?:${expected})$`).test(actual),
    };
    const check = checks[operator];
    if (!check) throw new Error(`rule ${rule}: VariableCheck operator ${operator} is not one of ${Object.keys(checks).join(", ")}`);
    const passed = check();
    return {
        rule,
        passed,
        detail: `${reference} = ${JSON.stringify(actual)} ${operator} ${JSON.stringify(expected)}: ${passed ? "met" : "not met"}`,
    };
}
