"""People who sign in: users (Amazon Cognito identities with a role per account), the
sign-in endpoints, and the audit log of who changed what (docs/admin.md)."""
