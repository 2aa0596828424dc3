import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { tlsOnlyBucketPolicy } from "./policies";

export interface SecureBucketArgs {
    /** Customer-managed KMS key for default encryption; S3-managed keys (SSE-S3) when omitted. */
    readonly kmsKeyArn?: pulumi.Input<string>;
    /** Days a noncurrent object version is kept before it expires. */
    readonly noncurrentVersionExpirationDays?: pulumi.Input<number>;
    /** Let `pulumi destroy` delete the bucket with its objects (build artifacts are reproducible). */
    readonly forceDestroy?: pulumi.Input<boolean>;
}

/**
 * A private S3 bucket the way both pipelines' artifacts deserve: default encryption, versioning, every kind
 * of public access blocked, bucket-owner-enforced ownership (ACLs disabled), a TLS-only bucket policy,
 * and a lifecycle rule that expires old versions and aborted multipart uploads.
 */
export class SecureBucket extends pulumi.ComponentResource {
    public readonly bucket: aws.s3.Bucket;
    public readonly bucketName: pulumi.Output<string>;
    public readonly arn: pulumi.Output<string>;

    constructor(name: string, args: SecureBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cicd:storage:SecureBucket", name, {}, opts);

        this.bucket = new aws.s3.Bucket(name, { forceDestroy: args.forceDestroy ?? false }, { parent: this });
        const bucket = this.bucket.id;

        const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
            `${name}-public-access-block`,
            { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            { parent: this },
        );

        new aws.s3.BucketOwnershipControls(
            `${name}-ownership`,
            { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } },
            { parent: this },
        );

        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-encryption`,
            {
                bucket,
                rules: [
                    {
                        applyServerSideEncryptionByDefault: args.kmsKeyArn
                            ? { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyArn }
                            : { sseAlgorithm: "AES256" },
                        // S3 Bucket Keys cut KMS requests (and cost) for SSE-KMS by orders of magnitude.
                        bucketKeyEnabled: args.kmsKeyArn ? true : undefined,
                    },
                ],
            },
            { parent: this },
        );

        const versioning = new aws.s3.BucketVersioning(
            `${name}-versioning`,
            { bucket, versioningConfiguration: { status: "Enabled" } },
            { parent: this },
        );

        new aws.s3.BucketLifecycleConfiguration(
            `${name}-lifecycle`,
            {
                bucket,
                rules: [
                    {
                        id: "expire-noncurrent-versions",
                        status: "Enabled",
                        filter: {},
                        noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionExpirationDays ?? 30 },
                        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                    },
                ],
            },
            // S3 rejects lifecycle rules on noncurrent versions until versioning is on.
            { parent: this, dependsOn: [versioning] },
        );

        new aws.s3.BucketPolicy(
            `${name}-tls-only`,
            { bucket, policy: this.bucket.arn.apply(tlsOnlyBucketPolicy) },
            // A bucket policy put before the public access block is in place can be refused as public.
            { parent: this, dependsOn: [publicAccessBlock] },
        );

        this.bucketName = this.bucket.bucket;
        this.arn = this.bucket.arn;
        this.registerOutputs({ bucketName: this.bucketName, arn: this.arn });
    }
}
