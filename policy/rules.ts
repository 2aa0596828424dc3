// Every rule of the policy pack, and the logic they share with the CloudFormation checks (cfn-rules.ts).
//
// Layout: each check is a pure function over a small normalized shape (a policy document, `KeyFacts`,
// `TableFacts`, `BucketFacts`, ...). The Pulumi policies below map resource props onto those shapes; cfn-rules.ts
// maps CloudFormation properties onto the same shapes, so a rule means the same thing in both places.
//
// This module only imports *types* from @pulumi/policy: loading it never starts the policy gRPC server (only
// `new PolicyPack(...)` in index.ts does), so tests import it freely and call validateResource/validateStack.
//
// Props: validateResource gets the resource's resolved inputs; validateStack gets every resource's outputs.
// Policy documents arrive as JSON strings or as objects (typed @pulumi/aws inputs, mocks): both are accepted.
// During a preview a value computed from another resource's output is unknown; reading it throws the
// framework's UnknownValueError, which the framework turns into an advisory "can't run during preview" —
// the resource rules rely on that; the stack rule defers only the checks it cannot make (see s3BucketHardened).

import type {
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";

// =========================================================================================================
// Small helpers

export type Json = any;

export const asList = <T = Json>(value: T | T[] | undefined | null): T[] =>
    value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];

/** CloudFormation accepts "true"/"false" strings wherever a boolean goes. */
export const isTrue = (value: unknown): boolean => value === true || (typeof value === "string" && value.toLowerCase() === "true");
export const isFalse = (value: unknown): boolean => value === false || (typeof value === "string" && value.toLowerCase() === "false");

/** A policy document given as JSON text or as an object; undefined when absent or not JSON. */
export function parsePolicyDocument(value: unknown): { Statement?: Json } | undefined {
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value === "string") {
        try {
            return JSON.parse(value);
        } catch {
            return undefined;
        }
    }
    return value as { Statement?: Json };
}

export function statementsOf(document: unknown): Json[] {
    const doc = parsePolicyDocument(document);
    return asList(doc?.Statement).filter((s) => s && typeof s === "object");
}

const label = (statement: Json, index: number) => (statement.Sid ? `statement "${statement.Sid}"` : `statement #${index + 1}`);

/**
 * CloudFormation intrinsic functions rendered as text, so policy checks can read them: `{Ref: X}` →
 * "${X}", `{"Fn::GetAtt": [X, "Arn"]}` → "${X.Arn}", `Fn::Sub` → its template, `Fn::Join` → the joined parts.
 * A literal string stays as it is; anything else becomes "${?}" (never equal to "*").
 */
export function renderValue(value: Json): string {
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    if (value && typeof value === "object" && !Array.isArray(value)) {
        if (typeof value.Ref === "string") return `\${${value.Ref}}`;
        const getAtt = value["Fn::GetAtt"];
        if (getAtt !== undefined) return `\${${Array.isArray(getAtt) ? getAtt.map(renderValue).join(".") : renderValue(getAtt)}}`;
        const sub = value["Fn::Sub"];
        if (sub !== undefined) return renderValue(Array.isArray(sub) ? sub[0] : sub);
        const join = value["Fn::Join"];
        if (Array.isArray(join) && join.length === 2) return asList(join[1]).map(renderValue).join(renderValue(join[0]));
    }
    return "${?}";
}
const strings = (value: Json): string[] => asList(value).map(renderValue);

// =========================================================================================================
// Rule 1 and 2: IAM documents

/** Where a policy document is attached; decides how a missing Resource and the key-policy exemption read. */
export type PolicyKind = "identity" | "trust" | "bucket" | "key" | "topic" | "queue";

export interface DocumentRef {
    readonly kind: PolicyKind;
    /** Property path, for messages: "policy", "inlinePolicies[0].policy", "Policies[1].PolicyDocument". */
    readonly path: string;
    readonly document: unknown;
}

/** `*`, `*:*` or `service:*` (IAM action names are case-insensitive). */
export const isWildcardAction = (action: string): boolean => action === "*" || /^[a-z0-9-]+:\*$/i.test(action) || action === "*:*";

// The partition and account may be CloudFormation placeholders ("${AWS::Partition}", "${AWS::AccountId}").
const ACCOUNT_ROOT = /^(?:arn:(?:\$\{AWS::Partition\}|[^:]+):iam::(\$\{AWS::AccountId\}|[^:]+):root|(\d{12}))$/;
/** The account a bare-root principal names (`arn:…:iam::<account>:root` or a bare 12-digit ID), else undefined. */
export function rootAccountOf(principal: string): string | undefined {
    const m = ACCOUNT_ROOT.exec(principal);
    return m ? (m[1] ?? m[2]) : undefined;
}

export interface StatementCheckOptions {
    /**
     * Accounts a key policy may name as its own: the AWS default key statement (account root, `kms:*` on `*`)
     * is accepted only for these. Pulumi: the provider's allowedAccountIds; CloudFormation: "${AWS::AccountId}".
     */
    readonly ownAccounts?: readonly string[];
}

/**
 * The AWS default key-policy statement: "Enable IAM policies" for the key's own account. In a key policy
 * `Resource: "*"` means "this key", and the statement grants nothing by itself: it lets IAM policies of that
 * account grant use of the key, and keeps the key manageable (without it a key can become unmanageable —
 * AWS's lockout safety check). It is exempt from rule 1 only in exactly that form, for a known own account.
 */
export function isDefaultKeyStatement(statement: Json, ownAccounts: readonly string[] = []): boolean {
    if (statement.Effect !== "Allow" || statement.NotAction !== undefined || statement.NotResource !== undefined) return false;
    if (statement.NotPrincipal !== undefined || statement.Condition !== undefined) return false;
    const actions = strings(statement.Action).map((a) => a.toLowerCase());
    if (actions.length !== 1 || actions[0] !== "kms:*") return false;
    const resources = strings(statement.Resource);
    if (resources.length !== 1 || resources[0] !== "*") return false;
    const principal = statement.Principal;
    if (!principal || typeof principal !== "object" || Object.keys(principal).length !== 1) return false;
    const aws = strings(principal.AWS);
    if (aws.length !== 1) return false;
    const account = rootAccountOf(aws[0]);
    return account !== undefined && ownAccounts.includes(account);
}

/**
 * Rule 1: every Allow statement whose actions include a wildcard (`*`, `service:*`, or any NotAction) on every
 * resource (`*`, any NotResource, or — in a resource policy — no Resource at all, which means the whole
 * resource). Deny statements are not grants and are not checked.
 */
export function statementProblems(ref: DocumentRef, options: StatementCheckOptions = {}): string[] {
    const problems: string[] = [];
    statementsOf(ref.document).forEach((s, i) => {
        if (s.Effect !== "Allow") return;
        const wildcardActions = s.NotAction !== undefined ? ["NotAction"] : strings(s.Action).filter(isWildcardAction);
        if (wildcardActions.length === 0) return;
        const everyResource =
            s.NotResource !== undefined || (s.Resource === undefined && ref.kind !== "identity") || strings(s.Resource).includes("*");
        if (!everyResource) return;
        if (ref.kind === "key" && isDefaultKeyStatement(s, options.ownAccounts)) return;
        const resource = s.NotResource !== undefined ? "NotResource" : s.Resource === undefined ? "the whole resource" : '"*"';
        const action = wildcardActions.join(", ");
        problems.push(
            `${ref.path} ${label(s, i)} allows ${action === "NotAction" ? "every action but a NotAction list" : action} on ${resource}: ` +
                "name the actions and scope the resources" +
                (ref.kind === "key" ? " (only the AWS default statement for the key's own account root is exempt)" : ""),
        );
    });
    return problems;
}

/** Condition operators that pin `aws:PrincipalArn` to exact ARNs (Like operators only without wildcards). */
const PINNING_OPERATORS = ["arnequals", "stringequals", "arnlike", "stringlike"];

/** The values of a Condition that pin `aws:PrincipalArn`, when every one is a wildcard-free ARN; else []. */
export function pinnedPrincipalArns(condition: Json): string[] {
    if (!condition || typeof condition !== "object") return [];
    const pinned: string[] = [];
    for (const [operator, block] of Object.entries<Json>(condition)) {
        if (!PINNING_OPERATORS.includes(operator.toLowerCase()) || !block || typeof block !== "object") continue;
        for (const [key, value] of Object.entries<Json>(block)) {
            if (key.toLowerCase() !== "aws:principalarn") continue;
            const values = strings(value);
            if (values.length === 0 || values.some((v) => /[*?]/.test(v))) return [];
            pinned.push(...values);
        }
    }
    return pinned;
}

const accountOfArn = (arn: string): string | undefined => arn.replace(/\$\{AWS::Partition\}/g, "aws").split(":")[4];

/**
 * Rule 2: a trust policy (assumeRolePolicy) must not trust everyone (`*`, `{AWS: "*"}`, NotPrincipal), nor a
 * bare account root (`arn:…:root` or an account ID) unless a condition pins `aws:PrincipalArn` to exact ARNs
 * of that same account: a bare root trusts every principal of the account that may call sts:AssumeRole.
 */
export function trustProblems(ref: DocumentRef): string[] {
    const problems: string[] = [];
    statementsOf(ref.document).forEach((s, i) => {
        if (s.Effect !== "Allow") return;
        const where = `${ref.path} ${label(s, i)}`;
        if (s.NotPrincipal !== undefined) {
            problems.push(`${where} uses NotPrincipal with Allow, which trusts every other principal: name the principal`);
            return;
        }
        const principal = s.Principal;
        const everyone = principal === "*" || strings(principal?.AWS).includes("*");
        if (everyone) {
            problems.push(`${where} trusts every principal ("*"): name the role or service that may assume it`);
            return;
        }
        const pinned = pinnedPrincipalArns(s.Condition);
        for (const p of strings(principal?.AWS)) {
            const account = rootAccountOf(p);
            if (account === undefined) continue;
            if (pinned.length === 0) {
                problems.push(
                    `${where} trusts the account root ${p} without a condition pinning aws:PrincipalArn: every principal of ` +
                        `that account allowed sts:AssumeRole could assume the role; add ` +
                        `Condition: { ArnEquals: { "aws:PrincipalArn": "<role ARN>" } }`,
                );
            } else {
                const foreign = pinned.filter((arn) => {
                    const pinnedAccount = accountOfArn(arn) ?? "";
                    return !pinnedAccount.includes("${") && !account.includes("${") && pinnedAccount !== account;
                });
                if (foreign.length > 0) {
                    problems.push(`${where} trusts ${p} but pins aws:PrincipalArn to another account's ARN (${foreign.join(", ")})`);
                }
            }
        }
    });
    return problems;
}

/** The one principal a role under a permissions boundary (a function role) may trust. */
export const FUNCTION_ROLE_PRINCIPAL = "lambda.amazonaws.com";

/**
 * Rule 12: a role under a permissions boundary is a function's execution role, and trusts Lambda only. A release
 * that gives it (or creates a role with) any other principal — another account, a role, another service — plants a
 * door into the stage; the boundary would then be the only thing standing between that principal and the stage.
 */
export function functionRoleTrustProblems(ref: DocumentRef): string[] {
    const problems: string[] = [];
    statementsOf(ref.document).forEach((s, i) => {
        if (s.Effect !== "Allow") return;
        const where = `${ref.path} ${label(s, i)}`;
        if (s.NotPrincipal !== undefined || s.Principal === undefined || typeof s.Principal !== "object") {
            problems.push(`${where} must name its principal: a function role trusts only ${FUNCTION_ROLE_PRINCIPAL}`);
            return;
        }
        const principals = Object.entries<Json>(s.Principal).flatMap(([kind, value]) => strings(value).map((v) => `${kind}:${v}`));
        const others = principals.filter((p) => p !== `Service:${FUNCTION_ROLE_PRINCIPAL}`);
        if (others.length > 0 || principals.length === 0) {
            problems.push(
                `${where} trusts ${others.length > 0 ? others.join(", ") : "no principal"}: a role under a permissions boundary is a ` +
                    `function role and trusts only ${FUNCTION_ROLE_PRINCIPAL}`,
            );
        }
        const actions = strings(s.Action);
        if (actions.some((a) => a !== "sts:AssumeRole")) {
            problems.push(`${where} allows ${actions.join(", ")}: a function role's trust allows sts:AssumeRole only`);
        }
    });
    return problems;
}

/** A CloudFormation resource's retention attributes, for the template-only table rule. */
export interface RetentionFacts {
    readonly deletionPolicy?: Json;
    readonly updateReplacePolicy?: Json;
}
/** Rule 13 (CloudFormation templates only): the table is retained when the stack drops or replaces it. */
export const tableRetentionProblems = (r: RetentionFacts): string[] =>
    r.deletionPolicy === "Retain" && r.updateReplacePolicy === "Retain"
        ? []
        : [
              `table must be retained when the stack deletes or replaces it (DeletionPolicy: Retain and UpdateReplacePolicy: Retain; ` +
                  `got ${r.deletionPolicy ?? "none"} / ${r.updateReplacePolicy ?? "none"})`,
          ];

/** Every policy document a Pulumi resource carries, by type; [] for types without one. */
export function pulumiPolicyDocuments(type: string, props: Json): DocumentRef[] {
    const one = (kind: PolicyKind, key: string) => (props[key] === undefined ? [] : [{ kind, path: key, document: props[key] }]);
    switch (type) {
        case "aws:iam/role:Role":
            return [
                ...one("trust", "assumeRolePolicy"),
                ...asList(props.inlinePolicies).map((p: Json, i: number) => ({
                    kind: "identity" as const,
                    path: `inlinePolicies[${i}].policy`,
                    document: p?.policy,
                })),
            ];
        case "aws:iam/rolePolicy:RolePolicy":
        case "aws:iam/policy:Policy":
        case "aws:iam/userPolicy:UserPolicy":
        case "aws:iam/groupPolicy:GroupPolicy":
            return one("identity", "policy");
        case "aws:s3/bucketPolicy:BucketPolicy":
        case "aws:s3/bucket:Bucket":
        case "aws:s3/bucketV2:BucketV2":
            return one("bucket", "policy");
        case "aws:kms/key:Key":
        case "aws:kms/keyPolicy:KeyPolicy":
            return one("key", "policy");
        case "aws:sns/topicPolicy:TopicPolicy":
        case "aws:sns/topic:Topic":
            return one("topic", "policy");
        case "aws:sqs/queuePolicy:QueuePolicy":
        case "aws:sqs/queue:Queue":
            return one("queue", "policy");
        default:
            return [];
    }
}

/** Account IDs the provider is restricted to (`aws:allowedAccountIds`); provider props may hold them as JSON. */
export function providerAccounts(provider: { props?: Json } | undefined): string[] {
    let value = provider?.props?.allowedAccountIds;
    if (typeof value === "string") {
        try {
            value = JSON.parse(value);
        } catch {
            value = [value];
        }
    }
    return asList(value).filter((v): v is string => typeof v === "string");
}

// =========================================================================================================
// Rules 4-9: one resource each, over normalized facts

export interface KeyFacts {
    readonly rotation: unknown;
    /** KeySpec; rotation exists only for symmetric encryption keys. */
    readonly spec?: string;
    /** Origin; keys with imported (EXTERNAL) material cannot rotate automatically. */
    readonly origin?: string;
}
export function keyProblems(key: KeyFacts): string[] {
    const symmetric = key.spec === undefined || key.spec === "SYMMETRIC_DEFAULT";
    if (!symmetric || (key.origin !== undefined && key.origin !== "AWS_KMS")) return [];
    return isTrue(key.rotation) ? [] : ["automatic key rotation is not enabled: set enableKeyRotation (EnableKeyRotation) to true"];
}

export interface BuildProjectFacts {
    readonly privilegedMode: unknown;
    /** Whether a CloudWatch Logs block is declared at all, and its status. */
    readonly cloudWatchLogsDeclared: boolean;
    readonly cloudWatchLogsStatus?: string;
}
export function privilegedModeProblems(project: BuildProjectFacts): string[] {
    return isTrue(project.privilegedMode)
        ? ["the build runs in privileged mode (root on the host's Docker daemon): set environment.privilegedMode to false"]
        : [];
}
export function buildLogsProblems(project: BuildProjectFacts): string[] {
    if (!project.cloudWatchLogsDeclared) {
        return [
            'no CloudWatch Logs configuration: declare logsConfig.cloudwatchLogs { status: "ENABLED", groupName } with a managed log group',
        ];
    }
    return (project.cloudWatchLogsStatus ?? "ENABLED").toUpperCase() === "ENABLED"
        ? []
        : [`CloudWatch Logs are ${project.cloudWatchLogsStatus}: build logs must go to CloudWatch (status "ENABLED")`];
}

export interface PipelineFacts {
    readonly artifactStores: readonly { readonly location: string; readonly encryptionKeyId?: string }[];
}
export function pipelineProblems(pipeline: PipelineFacts): string[] {
    if (pipeline.artifactStores.length === 0) return ["no artifact store declared"];
    return pipeline.artifactStores
        .filter((store) => !store.encryptionKeyId)
        .map((store) => `artifact store ${store.location} has no encryptionKey: encrypt artifacts with a customer-managed KMS key`);
}

export interface TableFacts {
    readonly pointInTimeRecovery: unknown;
    readonly deletionProtection: unknown;
}
export const pitrProblems = (table: TableFacts): string[] =>
    isTrue(table.pointInTimeRecovery) ? [] : ["point-in-time recovery is not enabled: set pointInTimeRecovery.enabled to true"];
export const deletionProtectionProblems = (table: TableFacts): string[] =>
    isTrue(table.deletionProtection) ? [] : ["deletion protection is not enabled: set deletionProtectionEnabled to true"];

/**
 * Lambda runtimes accepted (allow-list, checked against the AWS deprecation schedule in 2026-11): anything else
 * is rejected, so a runtime AWS adds later needs a conscious entry here (or the `allowedRuntimes` config).
 */
export const ALLOWED_RUNTIMES: readonly string[] = [
    "nodejs22.x",
    "nodejs24.x",
    "python3.12",
    "python3.13",
    "python3.14",
    "java21",
    "java25",
    "dotnet10",
    "ruby3.4",
    "provided.al2023",
];
/**
 * Runtimes deprecated (or deprecated by 2026-11) that the rule rejects, for the message and the docs. nodejs20.x
 * (2026-04-30), python3.10/3.11, java8.al2/11/17, provided.al2 (2026-06-30), ruby3.3 (2026-03-31), dotnet8 (2026-11-10).
 */
export const DEPRECATED_RUNTIMES: readonly string[] = [
    "nodejs",
    "nodejs4.3",
    "nodejs4.3-edge",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "nodejs18.x",
    "nodejs20.x",
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "python3.9",
    "python3.10",
    "python3.11",
    "java8",
    "java8.al2",
    "java11",
    "java17",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet5.0",
    "dotnet6",
    "dotnet7",
    "dotnet8",
    "ruby2.5",
    "ruby2.7",
    "ruby3.2",
    "ruby3.3",
    "go1.x",
    "provided",
    "provided.al2",
];

export interface FunctionFacts {
    readonly runtime?: string;
    readonly packageType?: string;
}
export function runtimeProblems(fn: FunctionFacts, allowed: readonly string[] = ALLOWED_RUNTIMES): string[] {
    if (fn.packageType === "Image") return []; // a container image brings its own runtime
    if (fn.runtime === undefined) return ["no runtime set"];
    if (allowed.includes(fn.runtime)) return [];
    const why = DEPRECATED_RUNTIMES.includes(fn.runtime) ? "is deprecated by AWS Lambda" : "is not on the allowed list";
    return [`runtime ${fn.runtime} ${why}: use one of ${allowed.join(", ")}`];
}

export interface LogGroupFacts {
    readonly retentionInDays: unknown;
}
export function retentionProblems(group: LogGroupFacts): string[] {
    const days = Number(group.retentionInDays);
    return Number.isFinite(days) && days > 0 ? [] : ["no retention set (logs are kept forever): set retentionInDays"];
}

// =========================================================================================================
// Rule 3: S3 buckets, over facts gathered from several resources

export interface BucketFacts {
    /** For messages. */
    readonly name: string;
    /** The bucket's ARN, when known: the TLS statement must then cover it and its objects. */
    readonly arn?: string;
    /** Default-encryption algorithms declared (one per rule). */
    readonly sseAlgorithms: readonly (string | undefined)[];
    readonly hasEncryptionConfig: boolean;
    readonly versioningStatus?: string;
    readonly publicAccessBlock?: {
        readonly blockPublicAcls: unknown;
        readonly blockPublicPolicy: unknown;
        readonly ignorePublicAcls: unknown;
        readonly restrictPublicBuckets: unknown;
    };
    readonly policies: readonly unknown[];
}

const SSE_ALGORITHMS = ["AES256", "aws:kms", "aws:kms:dsse"];
const PUBLIC_ACCESS_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;

/** A Deny for everyone of all S3 actions on the bucket and its objects when aws:SecureTransport is false. */
export function isTlsOnlyStatement(statement: Json, bucketArn?: string): boolean {
    if (statement.Effect !== "Deny" || statement.NotAction !== undefined || statement.NotResource !== undefined) return false;
    const principal = statement.Principal;
    if (!(principal === "*" || strings(principal?.AWS).includes("*"))) return false;
    const actions = strings(statement.Action).map((a) => a.toLowerCase());
    if (!actions.includes("s3:*") && !actions.includes("*")) return false;
    const resources = strings(statement.Resource);
    const covers = (arn: string) => resources.includes("*") || resources.includes(arn);
    const coversBucket = bucketArn
        ? covers(bucketArn) && covers(`${bucketArn}/*`)
        : resources.some((r) => !r.endsWith("/*")) && resources.some((r) => r.endsWith("/*"));
    if (!coversBucket) return false;
    const condition = statement.Condition;
    if (!condition || typeof condition !== "object") return false;
    return Object.entries<Json>(condition).some(
        ([operator, block]) =>
            operator.toLowerCase() === "bool" &&
            block &&
            typeof block === "object" &&
            Object.entries<Json>(block).some(
                ([key, value]) => key.toLowerCase() === "aws:securetransport" && asList(value).length > 0 && asList(value).every(isFalse),
            ),
    );
}

export function bucketProblems(bucket: BucketFacts): string[] {
    const problems: string[] = [];
    if (!bucket.hasEncryptionConfig || !bucket.sseAlgorithms.some((a) => a !== undefined && SSE_ALGORITHMS.includes(a))) {
        problems.push(
            `bucket ${bucket.name} has no default encryption: add an aws.s3.BucketServerSideEncryptionConfiguration (AES256 or aws:kms)`,
        );
    }
    if (bucket.versioningStatus !== "Enabled") {
        problems.push(
            `bucket ${bucket.name} is not versioned (${bucket.versioningStatus ?? "no versioning configuration"}): add an ` +
                'aws.s3.BucketVersioning with status "Enabled"',
        );
    }
    const pab = bucket.publicAccessBlock;
    if (!pab) {
        problems.push(`bucket ${bucket.name} has no public access block: add an aws.s3.BucketPublicAccessBlock with all four flags true`);
    } else {
        const off = PUBLIC_ACCESS_FLAGS.filter((flag) => !isTrue(pab[flag]));
        if (off.length > 0) problems.push(`bucket ${bucket.name}'s public access block does not set ${off.join(", ")} to true`);
    }
    const tlsOnly = bucket.policies.some((doc) => statementsOf(doc).some((s) => isTlsOnlyStatement(s, bucket.arn)));
    if (!tlsOnly) {
        problems.push(
            `bucket ${bucket.name} has no TLS-only bucket policy: add a Deny of s3:* for Principal "*" on the bucket and its objects ` +
                'with Condition { Bool: { "aws:SecureTransport": "false" } }',
        );
    }
    return problems;
}

// =========================================================================================================
// Pulumi policies

export type PulumiFacts<T> = (props: Json) => T;

/** One Pulumi resource rule: for the types it maps, every problem its check finds is one violation. */
function resourceRule<T>(
    name: string,
    description: string,
    facts: Record<string, PulumiFacts<T>>,
    check: (facts: T, args: ResourceValidationArgs) => string[],
    extra: Partial<ResourceValidationPolicy> = {},
): ResourceValidationPolicy {
    return {
        name,
        description,
        enforcementLevel: "mandatory",
        ...extra,
        validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
            const toFacts = facts[args.type];
            if (!toFacts) return;
            for (const problem of check(toFacts(args.props), args)) reportViolation(problem);
        },
    };
}

const IAM_TYPES = [
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/policy:Policy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:kms/key:Key",
    "aws:kms/keyPolicy:KeyPolicy",
    "aws:sns/topicPolicy:TopicPolicy",
    "aws:sns/topic:Topic",
    "aws:sqs/queuePolicy:QueuePolicy",
    "aws:sqs/queue:Queue",
];
const byTypes = <T>(types: readonly string[], facts: PulumiFacts<T>): Record<string, PulumiFacts<T>> =>
    Object.fromEntries(types.map((t) => [t, facts]));

export const RULE = {
    noWildcardAdmin: "iam-no-wildcard-action-on-all-resources",
    trustPinned: "iam-trust-pinned-principals",
    s3Hardened: "s3-bucket-hardened",
    kmsRotation: "kms-key-rotation-enabled",
    codebuildPrivileged: "codebuild-no-privileged-mode",
    codebuildLogs: "codebuild-cloudwatch-logs-enabled",
    pipelineEncrypted: "codepipeline-artifact-store-encrypted",
    dynamodbPitr: "dynamodb-point-in-time-recovery",
    dynamodbDeletionProtection: "dynamodb-deletion-protection",
    lambdaRuntime: "lambda-supported-runtime",
    logRetention: "cloudwatch-log-group-retention",
    functionRoleTrust: "iam-bounded-role-trusts-lambda-only",
    /** CloudFormation templates only: Pulumi's retainOnDelete is a resource option policies cannot see. */
    tableRetained: "dynamodb-table-retained",
} as const;

export const noWildcardAdmin = resourceRule(
    RULE.noWildcardAdmin,
    "No Allow of a wildcard action (`*`, `service:*`, NotAction) on every resource, in any IAM, trust, bucket, key, topic or queue " +
        "policy. Exempt: the AWS default key-policy statement (`kms:*` on `*` for the key's own account root, that account being one " +
        "of the provider's allowedAccountIds).",
    byTypes(IAM_TYPES, (props) => props),
    (props, args) => {
        const ownAccounts = providerAccounts(args.provider);
        return pulumiPolicyDocuments(args.type, props).flatMap((ref) => statementProblems(ref, { ownAccounts }));
    },
);

export const trustPinned = resourceRule(
    RULE.trustPinned,
    "Role trust policies trust no `*` and no bare account root unless a condition pins aws:PrincipalArn to exact ARNs of that account.",
    { "aws:iam/role:Role": (props) => props },
    (props, args) =>
        pulumiPolicyDocuments(args.type, props)
            .filter((ref) => ref.kind === "trust")
            .flatMap(trustProblems),
);

export const kmsRotation = resourceRule(
    RULE.kmsRotation,
    "Symmetric KMS keys rotate their key material automatically (enableKeyRotation: true).",
    {
        "aws:kms/key:Key": (p): KeyFacts => ({
            rotation: p.enableKeyRotation,
            spec: p.customerMasterKeySpec ?? p.keySpec,
            origin: p.origin,
        }),
    },
    keyProblems,
);

const buildProjectFacts: PulumiFacts<BuildProjectFacts> = (p) => ({
    privilegedMode: p.environment?.privilegedMode,
    cloudWatchLogsDeclared: p.logsConfig?.cloudwatchLogs !== undefined,
    cloudWatchLogsStatus: p.logsConfig?.cloudwatchLogs?.status,
});
export const codebuildPrivileged = resourceRule(
    RULE.codebuildPrivileged,
    "CodeBuild projects do not run in privileged mode.",
    { "aws:codebuild/project:Project": buildProjectFacts },
    privilegedModeProblems,
);
export const codebuildLogs = resourceRule(
    RULE.codebuildLogs,
    "CodeBuild projects declare CloudWatch Logs, enabled.",
    { "aws:codebuild/project:Project": buildProjectFacts },
    buildLogsProblems,
);

export const pipelineEncrypted = resourceRule(
    RULE.pipelineEncrypted,
    "Every CodePipeline artifact store is encrypted with a KMS key (encryptionKey).",
    {
        "aws:codepipeline/pipeline:Pipeline": (p): PipelineFacts => ({
            artifactStores: asList(p.artifactStores).map((s: Json) => ({
                location: String(s?.location ?? "?"),
                encryptionKeyId: s?.encryptionKey?.id,
            })),
        }),
    },
    pipelineProblems,
);

const tableFacts: PulumiFacts<TableFacts> = (p) => ({
    pointInTimeRecovery: p.pointInTimeRecovery?.enabled,
    deletionProtection: p.deletionProtectionEnabled,
});
export const dynamodbPitr = resourceRule(
    RULE.dynamodbPitr,
    "DynamoDB tables have point-in-time recovery enabled.",
    { "aws:dynamodb/table:Table": tableFacts },
    pitrProblems,
);
export const dynamodbDeletionProtection = resourceRule(
    RULE.dynamodbDeletionProtection,
    "DynamoDB tables have deletion protection enabled.",
    { "aws:dynamodb/table:Table": tableFacts },
    deletionProtectionProblems,
);

export const lambdaRuntime = resourceRule(
    RULE.lambdaRuntime,
    `Lambda functions use a supported runtime: ${ALLOWED_RUNTIMES.join(", ")} (configurable: allowedRuntimes).`,
    { "aws:lambda/function:Function": (p): FunctionFacts => ({ runtime: p.runtime, packageType: p.packageType }) },
    (fn, args) => runtimeProblems(fn, args.getConfig<{ allowedRuntimes?: string[] }>()?.allowedRuntimes ?? ALLOWED_RUNTIMES),
    {
        configSchema: {
            properties: { allowedRuntimes: { type: "array", items: { type: "string" }, default: [...ALLOWED_RUNTIMES] } },
        },
    },
);

export const logRetention = resourceRule(
    RULE.logRetention,
    "CloudWatch log groups set retentionInDays.",
    { "aws:cloudwatch/logGroup:LogGroup": (p): LogGroupFacts => ({ retentionInDays: p.retentionInDays }) },
    retentionProblems,
);

export const functionRoleTrust = resourceRule(
    RULE.functionRoleTrust,
    `A role with a permissions boundary is a function role and trusts only ${FUNCTION_ROLE_PRINCIPAL} (sts:AssumeRole).`,
    { "aws:iam/role:Role": (props) => props },
    (props, args) =>
        props.permissionsBoundary === undefined
            ? []
            : pulumiPolicyDocuments(args.type, props)
                  .filter((ref) => ref.kind === "trust")
                  .flatMap(functionRoleTrustProblems),
);

// ---- rule 3: a stack rule, because @pulumi/aws 7 configures a bucket through separate resources ----------

export const BUCKET_TYPES = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"];
const COMPANION = {
    encryption: [
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    ],
    versioning: ["aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"],
    publicAccessBlock: ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"],
    policy: ["aws:s3/bucketPolicy:BucketPolicy"],
};

/** Reads a value that may be unknown during preview: `{ value }`, or `{ unknown }` holding the framework's error. */
function tryRead<T>(read: () => T): { value?: T; unknown?: Error } {
    try {
        return { value: read() };
    } catch (e) {
        if (e instanceof Error && e.constructor.name === "UnknownValueError") return { unknown: e };
        throw e;
    }
}

/**
 * Finds the bucket a companion resource (`bucket` property) configures: first through the engine's property
 * dependencies (known even in a preview, when the bucket's name is not), else by the bucket's id, name or ARN.
 */
function bucketOf(resource: PolicyResource, buckets: readonly PolicyResource[]): { bucket?: PolicyResource; unknown?: Error } {
    const viaDependency = (resource.propertyDependencies?.bucket ?? []).find((d) => BUCKET_TYPES.includes(d.type));
    if (viaDependency) return { bucket: buckets.find((b) => b.urn === viaDependency.urn) };
    const ref = tryRead(() => resource.props.bucket as string);
    if (ref.unknown) return { unknown: ref.unknown };
    const bucket = buckets.find((b) =>
        ["id", "bucket", "arn"].some((key) => {
            const v = tryRead(() => b.props[key]);
            return v.value !== undefined && v.value === ref.value;
        }),
    );
    return { bucket };
}

export const s3BucketHardened: StackValidationPolicy = {
    name: RULE.s3Hardened,
    description:
        "S3 buckets are encrypted (BucketServerSideEncryptionConfiguration), versioned (BucketVersioning Enabled), block all public " +
        "access (BucketPublicAccessBlock, all four flags) and have a TLS-only bucket policy (Deny when aws:SecureTransport is false).",
    enforcementLevel: "mandatory",
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        const buckets = args.resources.filter((r) => BUCKET_TYPES.includes(r.type));
        if (buckets.length === 0) return;
        const companions = new Map<string, Record<keyof typeof COMPANION, PolicyResource[]>>();
        for (const b of buckets) companions.set(b.urn, { encryption: [], versioning: [], publicAccessBlock: [], policy: [] });
        const deferred: Error[] = [];
        for (const r of args.resources) {
            const kind = (Object.keys(COMPANION) as (keyof typeof COMPANION)[]).find((k) => COMPANION[k].includes(r.type));
            if (!kind) continue;
            const { bucket, unknown } = bucketOf(r, buckets);
            if (unknown) deferred.push(unknown);
            if (bucket) companions.get(bucket.urn)![kind].push(r);
        }
        for (const b of buckets) {
            const c = companions.get(b.urn)!;
            // Values a preview may not know yet: a missing value defers the check (reported once, below).
            const read = <T>(fn: () => T): T | undefined => {
                const r = tryRead(fn);
                if (r.unknown) deferred.push(r.unknown);
                return r.value;
            };
            // Name and ARN only shape messages and the TLS resource match: unknown ones defer nothing.
            const name = tryRead(() => b.props.bucket as string).value ?? b.name;
            const arn = tryRead(() => b.props.arn as string).value;
            const sseRules = c.encryption.flatMap((e) => asList(read(() => e.props.rules) ?? []));
            const policyDocs = c.policy.map((p) => read(() => p.props.policy));
            const facts: BucketFacts = {
                name,
                arn,
                hasEncryptionConfig: c.encryption.length > 0,
                sseAlgorithms: sseRules.map((rule: Json) => rule?.applyServerSideEncryptionByDefault?.sseAlgorithm),
                versioningStatus: c.versioning.map((v) => read(() => v.props.versioningConfiguration?.status)).find((s) => s !== undefined),
                publicAccessBlock: c.publicAccessBlock.length
                    ? (Object.fromEntries(
                          PUBLIC_ACCESS_FLAGS.map((f) => [f, c.publicAccessBlock.some((p) => isTrue(read(() => p.props[f])))]),
                      ) as BucketFacts["publicAccessBlock"])
                    : undefined,
                policies: policyDocs.filter((d) => d !== undefined),
            };
            let problems = bucketProblems(facts);
            // A TLS policy whose text a preview does not know yet is checked in the update, not reported now.
            if (policyDocs.some((d) => d === undefined) && c.policy.length > 0) problems = problems.filter((p) => !p.includes("TLS-only"));
            for (const problem of problems) reportViolation(problem, b.urn);
        }
        // Rethrown so the framework reports "can't run during preview" (advisory) for what could not be checked.
        if (deferred.length > 0) throw deferred[0];
    },
};

/** Every rule of the pack, in order. */
export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
    noWildcardAdmin,
    trustPinned,
    s3BucketHardened,
    kmsRotation,
    codebuildPrivileged,
    codebuildLogs,
    pipelineEncrypted,
    dynamodbPitr,
    dynamodbDeletionProtection,
    lambdaRuntime,
    logRetention,
    functionRoleTrust,
];
