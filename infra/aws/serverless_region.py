"""`ServerlessRegion`: one region of the serverless target: the WebSocket API and the HTTP API, the two Lambda
functions behind them, the region's connections and rate-limit tables, its copy of the JWT secret, and one
least-privilege role. The store's table is the stack's (a global table in prod) and is passed in.

Both regional tables are regional on purpose: a connection exists in one region's API only, and the send
counters (app/ratelimit_dynamodb.py) are one budget per user for all the region's containers; replicating
either would double every write for nothing a failover needs (clients reconnect to the other region)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.aws.policies import assume_role_policy

# The WebSocket API reads each frame's `type` to pick a route; every route goes to the same function, which
# dispatches on the route key (protocol.md's frame types, and the three API Gateway defines).
ROUTE_SELECTION_EXPRESSION = "$request.body.type"
WEBSOCKET_ROUTES = ("$connect", "$disconnect", "$default", "send", "sync", "read", "typing", "ping")
HTTP_STAGE = "$default"  # served at the root of the API's host, so `/readyz` is the health check's path
HANDLERS = {"websocket": "app.serverless.handlers.websocket", "http": "app.serverless.handlers.http"}
# Item-level actions only: TransactWriteItems is authorised per item (Put, Update, ConditionCheck, Delete).
TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
]
# What the send limiter does: read the previous window's counter, add to the current one.
RATELIMIT_ACTIONS = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
_ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "time": "$context.requestTime",
    "route": "$context.routeKey",
    "status": "$context.status",
    "ip": "$context.identity.sourceIp",
    "latencyMs": "$context.integrationLatency",
    "error": "$context.error.message",
}
ACCESS_LOG_FORMATS = {
    "websocket": json.dumps({**_ACCESS_LOG_FIELDS, "connectionId": "$context.connectionId"}),
    "http": json.dumps({**_ACCESS_LOG_FIELDS, "method": "$context.httpMethod", "path": "$context.path"}),
}
PUSH_TO_CLOUDWATCH = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"


@dataclass(frozen=True)
class FunctionSizing:
    memory_mb: int
    websocket_timeout: int
    http_timeout: int
    reserved_concurrency: int | None
    log_retention_days: int
    throttle_burst: int
    throttle_rate: float
    protect: bool


@dataclass(frozen=True)
class ServerlessRegionArgs:
    """`store_table` is the store's table name (the same in every region of a global table); `secret_key` the
    JWT secret's value (a Pulumi secret); `package` the Lambda zip from `parley package lambda`;
    `public_websocket_url` the WebSocket address clients are told (`wss://ws.<host>`), or None for this region's
    WebSocket stage's own invoke URL."""

    stack: str
    environment: str
    region: str
    account_id: pulumi.Input[str]
    store_table: str
    kms_key_arn: pulumi.Input[str]
    secret_key: pulumi.Input[str]
    package: str
    sizing: FunctionSizing
    public_websocket_url: str | None = None


class ServerlessRegion(pulumi.ComponentResource):
    websocket_url: pulumi.Output[str]
    http_url: pulumi.Output[str]
    websocket_api_id: pulumi.Output[str]
    websocket_stage: str
    http_api_id: pulumi.Output[str]
    http_host: pulumi.Output[str]
    connections_table: pulumi.Output[str]
    ratelimit_table: pulumi.Output[str]
    manage_connections_arns: pulumi.Output[list[str]]

    def __init__(self, name: str, args: ServerlessRegionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("parley:aws:ServerlessRegion", name, None, opts)
        self._name, self._args = name, args
        child = pulumi.ResourceOptions(parent=self)
        prefix = f"parley-{args.stack}"
        sizing = args.sizing

        connections, ratelimit = self._regional_table("connections"), self._regional_table("ratelimit")
        secret = aws.secretsmanager.Secret(
            f"{name}-secret-key",
            name=f"{prefix}/secret-key",
            description="Signs Parley's JWT bearer tokens (PARLEY_SECRET_KEY_ARN)",
            kms_key_id=args.kms_key_arn,
            recovery_window_in_days=30 if sizing.protect else 0,
            opts=child,
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-secret-key-value", secret_id=secret.id, secret_string=args.secret_key, opts=child
        )
        websocket_api = aws.apigatewayv2.Api(
            f"{name}-websocket",
            name=f"{prefix}-websocket",
            protocol_type="WEBSOCKET",
            route_selection_expression=ROUTE_SELECTION_EXPRESSION,
            opts=child,
        )
        http_api = aws.apigatewayv2.Api(f"{name}-http", name=f"{prefix}-http", protocol_type="HTTP", opts=child)
        stage = args.environment
        manage = websocket_api.execution_arn.apply(
            lambda arn: [f"{arn}/{stage}/POST/@connections/*", f"{arn}/{stage}/DELETE/@connections/*"]
        )
        logs = {
            kind: aws.cloudwatch.LogGroup(
                f"{name}-{kind}-function-logs",
                name=f"/aws/lambda/{prefix}-{kind}",
                retention_in_days=sizing.log_retention_days,
                opts=child,
            )
            for kind in HANDLERS
        }
        role = self._role(
            store_table_arn=pulumi.Output.concat(
                "arn:aws:dynamodb:", args.region, ":", args.account_id, ":table/", args.store_table
            ),
            connections_table_arn=connections.arn,
            ratelimit_table_arn=ratelimit.arn,
            manage_connections=manage,
            secret_arn=secret.arn,
            log_group_arns=[group.arn for group in logs.values()],
        )
        environment = {
            "PARLEY_ENV": "production" if args.environment != "dev" else "dev",
            "PARLEY_DATABASE_URL": f"dynamodb://?region={args.region}&table={args.store_table}",
            "PARLEY_BUS_URL": pulumi.Output.concat(
                "apigateway://",
                websocket_api.id,
                f".execute-api.{args.region}.amazonaws.com/{stage}?table=",
                connections.name,
            ),
            "PARLEY_RATELIMIT_URL": pulumi.Output.concat(f"dynamodb://?region={args.region}&table=", ratelimit.name),
            "PARLEY_SECRET_KEY_ARN": secret.arn,
            "PARLEY_LOG_JSON": "true",
        }
        access_logs = {
            kind: aws.cloudwatch.LogGroup(
                f"{name}-{kind}-access-logs",
                name=f"/aws/apigateway/{prefix}-{kind}",
                retention_in_days=sizing.log_retention_days,
                opts=child,
            )
            for kind in HANDLERS
        }
        websocket_function = self._function("websocket", role, logs["websocket"], environment, sizing.websocket_timeout)
        websocket_stage = self._websocket_routes(websocket_api, websocket_function, access_logs["websocket"])
        # The HTTP API serves the web client and `GET /api/v1/endpoints`, which tells clients where the WebSocket
        # is: not `/ws` on the HTTP API's host, but the WebSocket API's. Only this function needs it (and the
        # WebSocket function could not have its own stage's URL: the stage is built on the function).
        http_environment = {
            **environment,
            "PARLEY_PUBLIC_WEBSOCKET_URL": args.public_websocket_url or websocket_stage.invoke_url,
        }
        http_function = self._function("http", role, logs["http"], http_environment, sizing.http_timeout)
        http_stage = self._http_routes(http_api, http_function, access_logs["http"])

        self.websocket_url = websocket_stage.invoke_url
        self.http_url = http_stage.invoke_url
        self.websocket_api_id = websocket_api.id
        self.websocket_stage = stage
        self.http_api_id = http_api.id
        self.http_host = http_api.api_endpoint.apply(lambda endpoint: endpoint.removeprefix("https://"))
        self.connections_table = connections.name
        self.ratelimit_table = ratelimit.name
        self.manage_connections_arns = manage
        self.register_outputs(
            {
                "websocketUrl": self.websocket_url,
                "httpUrl": self.http_url,
                "websocketApiId": self.websocket_api_id,
                "connectionsTable": self.connections_table,
                "ratelimitTable": self.ratelimit_table,
            }
        )

    def _regional_table(self, kind: str) -> aws.dynamodb.Table:
        """A table of this region only, keyed by `pk`, whose items expire (TTL) at their `expires_at`."""
        return aws.dynamodb.Table(
            f"{self._name}-{kind}",
            name=f"parley-{self._args.stack}-{kind}",
            billing_mode="PAY_PER_REQUEST",
            hash_key="pk",
            attributes=[aws.dynamodb.TableAttributeArgs(name="pk", type="S")],
            ttl=aws.dynamodb.TableTtlArgs(attribute_name="expires_at", enabled=True),
            # Free at these tables' size, and every table of the stack stays under the one rule.
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                enabled=True, kms_key_arn=self._args.kms_key_arn
            ),
            deletion_protection_enabled=self._args.sizing.protect,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _role(
        self,
        *,
        store_table_arn: pulumi.Output[str],
        connections_table_arn: pulumi.Output[str],
        ratelimit_table_arn: pulumi.Output[str],
        manage_connections: pulumi.Output[list[str]],
        secret_arn: pulumi.Output[str],
        log_group_arns: list[pulumi.Output[str]],
    ) -> aws.iam.Role:
        """One role for both functions: these tables' items, this API's connections, this secret, these logs."""
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{self._name}-functions",
            assume_role_policy=json.dumps(assume_role_policy("lambda.amazonaws.com")),
            opts=child,
        )
        statements = [
            {
                "Sid": "Tables",
                "Effect": "Allow",
                "Action": TABLE_ACTIONS,
                "Resource": [store_table_arn, connections_table_arn],
            },
            {"Sid": "RateLimit", "Effect": "Allow", "Action": RATELIMIT_ACTIONS, "Resource": [ratelimit_table_arn]},
            {
                "Sid": "Connections",
                "Effect": "Allow",
                "Action": ["execute-api:ManageConnections"],
                "Resource": manage_connections,
            },
            {
                "Sid": "SecretKey",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": [secret_arn],
            },
            {
                "Sid": "SecretKeyDecrypt",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [self._args.kms_key_arn],
            },
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [pulumi.Output.concat(arn, ":*") for arn in log_group_arns],
            },
        ]
        self.policy = aws.iam.RolePolicy(
            f"{self._name}-functions",
            role=role.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
            opts=child,
        )
        return role

    def _function(
        self,
        kind: str,
        role: aws.iam.Role,
        log_group: aws.cloudwatch.LogGroup,
        environment: dict[str, pulumi.Input[str]],
        timeout: int,
    ) -> aws.lambda_.Function:
        sizing = self._args.sizing
        return aws.lambda_.Function(
            f"{self._name}-{kind}",
            name=f"parley-{self._args.stack}-{kind}",
            runtime="python3.12",
            architectures=["arm64"],
            handler=HANDLERS[kind],
            code=pulumi.FileArchive(self._args.package),
            role=role.arn,
            memory_size=sizing.memory_mb,
            timeout=timeout,
            reserved_concurrent_executions=sizing.reserved_concurrency,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=log_group.name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy, log_group]),
        )

    def _permission(self, kind: str, function: aws.lambda_.Function, api: aws.apigatewayv2.Api) -> None:
        aws.lambda_.Permission(
            f"{self._name}-{kind}-invoke",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="apigateway.amazonaws.com",
            source_arn=api.execution_arn.apply(lambda arn: f"{arn}/*"),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _throttling(self) -> dict[str, float | int]:
        return {
            "throttling_burst_limit": self._args.sizing.throttle_burst,
            "throttling_rate_limit": self._args.sizing.throttle_rate,
        }

    def _websocket_routes(
        self, api: aws.apigatewayv2.Api, function: aws.lambda_.Function, access_log: aws.cloudwatch.LogGroup
    ) -> aws.apigatewayv2.Stage:
        child = pulumi.ResourceOptions(parent=self)
        self._permission("websocket", function, api)
        integration = aws.apigatewayv2.Integration(
            f"{self._name}-websocket",
            api_id=api.id,
            integration_type="AWS_PROXY",
            integration_method="POST",
            integration_uri=function.invoke_arn,
            opts=child,
        )
        target = integration.id.apply(lambda integration_id: f"integrations/{integration_id}")
        routes = [
            aws.apigatewayv2.Route(
                f"{self._name}-route-{key.lstrip('$')}", api_id=api.id, route_key=key, target=target, opts=child
            )
            for key in WEBSOCKET_ROUTES
        ]
        # WebSocket APIs do not deploy themselves: a deployment per change of the routes.
        deployment = aws.apigatewayv2.Deployment(
            f"{self._name}-websocket",
            api_id=api.id,
            triggers={"routes": ",".join(WEBSOCKET_ROUTES)},
            opts=pulumi.ResourceOptions(parent=self, depends_on=routes),
        )
        # Access logs of WebSocket APIs need the region's API Gateway account to name a CloudWatch role.
        logs_role = aws.iam.Role(
            f"{self._name}-apigateway-logs",
            assume_role_policy=json.dumps(assume_role_policy("apigateway.amazonaws.com")),
            opts=child,
        )
        push = aws.iam.RolePolicyAttachment(
            f"{self._name}-apigateway-logs", role=logs_role.name, policy_arn=PUSH_TO_CLOUDWATCH, opts=child
        )
        account = aws.apigateway.Account(
            f"{self._name}-apigateway",
            cloudwatch_role_arn=logs_role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[push]),
        )
        return aws.apigatewayv2.Stage(
            f"{self._name}-websocket",
            api_id=api.id,
            name=self._args.environment,
            deployment_id=deployment.id,
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(**self._throttling()),
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=access_log.arn, format=ACCESS_LOG_FORMATS["websocket"]
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account]),
        )

    def _http_routes(
        self, api: aws.apigatewayv2.Api, function: aws.lambda_.Function, access_log: aws.cloudwatch.LogGroup
    ) -> aws.apigatewayv2.Stage:
        child = pulumi.ResourceOptions(parent=self)
        self._permission("http", function, api)
        integration = aws.apigatewayv2.Integration(
            f"{self._name}-http",
            api_id=api.id,
            integration_type="AWS_PROXY",
            integration_method="POST",
            integration_uri=function.invoke_arn,
            payload_format_version="2.0",
            opts=child,
        )
        aws.apigatewayv2.Route(
            f"{self._name}-route-http",
            api_id=api.id,
            route_key="$default",
            target=integration.id.apply(lambda integration_id: f"integrations/{integration_id}"),
            opts=child,
        )
        return aws.apigatewayv2.Stage(
            f"{self._name}-http",
            api_id=api.id,
            name=HTTP_STAGE,
            auto_deploy=True,
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(**self._throttling()),
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=access_log.arn, format=ACCESS_LOG_FORMATS["http"]
            ),
            opts=child,
        )
