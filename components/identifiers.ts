// The identifiers that cross a boundary — a stack's config, a target stack's outputs read by the tools stack, the
// environment a pipeline build gets — and the one check of each. Every check returns a problem message naming the
// key and what a valid value looks like, or undefined when the value is valid. Patterns use explicit character
// classes and anchors only: no `.`, no whitespace or control character can pass (a value that reaches a file or a
// shell, such as a role ARN written into an AWS config profile, must be exactly one line of the expected shape).

const show = (value: string) => JSON.stringify(value);

// The stage becomes part of Lambda function, table, role, log group and CloudFormation stack names
// (`product-catalog-service-<stage>-findProduct` must fit Lambda's 64 characters), so it is kept short
// and lowercase: S3 and CloudFormation reject some characters the others accept.
const STAGE = /^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,15}$/;
export function stageProblem(key: string, value: string): string | undefined {
    return STAGE.test(value)
        ? undefined
        : `${key} must be 1-16 characters of lowercase letters, digits and single hyphens, starting with a letter ` +
              `and not ending with a hyphen (it becomes part of every resource name), e.g. "dev" or "prod-eu"; ` +
              `got ${show(value)}`;
}

const ACCOUNT_ID = /^[0-9]{12}$/;
export function accountIdProblem(key: string, value: string): string | undefined {
    if (ACCOUNT_ID.test(value)) return undefined;
    // YAML reads an unquoted 012345678901 as the number 12345678901: the leading zero is gone.
    const hint = /^[0-9]{1,11}$/.test(value)
        ? ` (an account ID that starts with 0 must be quoted in YAML, e.g. "0${value.padStart(11, "0")}": ` +
          `unquoted, YAML reads it as a number and drops the leading zeros)`
        : "";
    return `${key} must be a 12-digit AWS account ID such as 111111111111; got ${show(value)}${hint}`;
}

const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$/;
export function regionProblem(key: string, value: string): string | undefined {
    return REGION.test(value) ? undefined : `${key} must be an AWS region such as "us-east-1"; got ${show(value)}`;
}

// IAM role names: 1-64 of [\w+=,.@-]. Build role names are also embedded in the targets' trust policies.
const ROLE_NAME = /^[A-Za-z0-9_+=,.@-]{1,64}$/;
export function roleNameProblem(key: string, value: string): string | undefined {
    return ROLE_NAME.test(value) ? undefined : `${key} must be an IAM role name (1-64 letters, digits or "+=,.@_-"); got ${show(value)}`;
}

const PARTITION = "aws(?:-[a-z]+)*";
const IAM_PATH_AND_NAME = "(?:/[A-Za-z0-9_+=,.@-]+)*/[A-Za-z0-9_+=,.@-]{1,128}";
const ROLE_ARN = new RegExp(`^arn:${PARTITION}:iam::([0-9]{12}):role${IAM_PATH_AND_NAME}$`);
const POLICY_ARN = new RegExp(`^arn:${PARTITION}:iam::([0-9]{12}):policy${IAM_PATH_AND_NAME}$`);
const KMS_KEY_ARN = new RegExp(`^arn:${PARTITION}:kms:[a-z0-9-]+:([0-9]{12}):key/[A-Za-z0-9-]{1,64}$`);
const TOPIC_ARN = new RegExp(`^arn:${PARTITION}:sns:[a-z0-9-]+:([0-9]{12}):[A-Za-z0-9_-]{1,256}$`);

/** An IAM role ARN, optionally required to be in `accountId`. */
export function roleArnProblem(key: string, value: string, accountId?: string): string | undefined {
    return arnProblem(key, value, ROLE_ARN, "an IAM role ARN such as arn:aws:iam::222222222222:role/deploy-example", accountId);
}
export function policyArnProblem(key: string, value: string, accountId?: string): string | undefined {
    return arnProblem(key, value, POLICY_ARN, "an IAM policy ARN such as arn:aws:iam::222222222222:policy/boundary-example", accountId);
}
export function kmsKeyArnProblem(key: string, value: string, accountId?: string): string | undefined {
    return arnProblem(key, value, KMS_KEY_ARN, "a KMS key ARN such as arn:aws:kms:us-east-1:222222222222:key/0a1b2c3d-…", accountId);
}
export function topicArnProblem(key: string, value: string, accountId?: string): string | undefined {
    return arnProblem(key, value, TOPIC_ARN, "an SNS topic ARN such as arn:aws:sns:us-east-1:111111111111:notifications", accountId);
}

function arnProblem(key: string, value: string, pattern: RegExp, example: string, accountId?: string): string | undefined {
    const match = pattern.exec(value);
    if (!match) return `${key} must be ${example}; got ${show(value)}`;
    if (accountId !== undefined && match[1] !== accountId) return `${key} is in account ${match[1]}, not ${accountId}: ${show(value)}`;
    return undefined;
}

/** The account an ARN (already checked) belongs to. */
export const accountOfArn = (arn: string): string => arn.split(":")[4];

// S3 bucket names (general purpose): 3-63 lowercase letters, digits, dots and hyphens.
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
export function bucketNameProblem(key: string, value: string): string | undefined {
    return BUCKET_NAME.test(value) ? undefined : `${key} must be an S3 bucket name; got ${show(value)}`;
}

const SERVICE = /^[A-Za-z][A-Za-z0-9-]{0,39}$/;
export function serviceNameProblem(key: string, value: string): string | undefined {
    return SERVICE.test(value) ? undefined : `${key} must be a service name (letters, digits, hyphens); got ${show(value)}`;
}

const SHA256 = /^[0-9a-f]{64}$/;
export function sha256Problem(key: string, value: string): string | undefined {
    return SHA256.test(value) ? undefined : `${key} must be 64 hexadecimal digits (a SHA-256); got ${show(value)}`;
}

const SEMVER = /^[0-9]+\.[0-9]+\.[0-9]+$/;
export function releaseVersionProblem(key: string, value: string, example: string): string | undefined {
    return SEMVER.test(value) ? undefined : `${key} must be a release such as "${example}"; got ${show(value)}`;
}
