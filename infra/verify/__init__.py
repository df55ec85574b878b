"""`parley verify`: a stack's deployed reality checked through boto3 (security groups, databases, listeners,
failover, tables, secrets), against a real account after `pulumi up` or against the stack's plan
materialised into moto. See docs/verify.md."""
