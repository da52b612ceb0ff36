from conftest import login


def test_admin_sees_every_list(client, people):
    login(client, "admin")
    for endpoint in [
        "dossier",
        "step_record",
        "objective",
        "indicator",
        "target",
        "sop",
        "sop_step",
        "calendar_day",
        "user",
        "role",
        "audit_entry",
        "login_attempt",
    ]:
        assert client.get(f"/admin/{endpoint}/").status_code == 200, endpoint
