"""Secrets come from configuration: the environment, or an SSM parameter in AWS."""
import pytest

from chalicelib import aws, config


def test_a_secret_is_read_from_the_ssm_parameter_its_setting_names(moto_endpoint, monkeypatch):
    aws.client("ssm").put_parameter(Name="/calltrack/test-secret", Value="s3cr3t", Type="SecureString", Overwrite=True)
    monkeypatch.delenv("CALLTRACK_TEST_SECRET", raising=False)
    monkeypatch.setenv("CALLTRACK_TEST_SECRET_SSM", "/calltrack/test-secret")
    assert config.required("CALLTRACK_TEST_SECRET") == "s3cr3t"


def test_a_missing_setting_fails_fast_naming_it(monkeypatch):
    monkeypatch.delenv("CALLTRACK_NOT_SET", raising=False)
    with pytest.raises(config.MissingSetting, match="CALLTRACK_NOT_SET"):
        config.required("CALLTRACK_NOT_SET")
