from tests.conftest import login


def test_counselor_sees_own_school(client, world):
    login(client, "counselor")
    response = client.get(f"/schools/{world.schools['A'].id}")
    assert response.status_code == 200
    assert "测试学校A" in response.get_data(as_text=True)
    assert client.get(f"/schools/{world.schools['B'].id}").status_code == 403
