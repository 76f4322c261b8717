"""The public opportunity list (机遇清单): anonymous, read only, bilingual, public fields only."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from flask_babel import lazy_gettext as _l

from crm.models import Industry, ProjectStage, UnitKind
from crm.opportunities.views import both, both_amount
from crm.projects.services import change_stage, create_project, delete_project, update_project
from tests.helpers import today

ENTERPRISE = "宜宾长盈精密技术有限公司"


@pytest.fixture
def world(app, db, make_unit, make_enterprise):
    """Two counties, a park, two industries and one enterprise with several projects."""
    county = make_unit("叙州区")
    county.name_en = "Xuzhou District"
    other_county = make_unit("南溪区")
    park = make_unit("宜宾临港经济技术开发区", kind=UnitKind.PARK, parent=county)
    battery = Industry(name="动力电池", name_en="Power batteries")
    solar = Industry(name="晶硅光伏", name_en="Crystalline-silicon photovoltaics")
    db.session.add_all([battery, solar])
    db.session.commit()
    enterprise = make_enterprise(ENTERPRISE, [county])
    return {
        "county": county,
        "other_county": other_county,
        "park": park,
        "battery": battery,
        "solar": solar,
        "enterprise": enterprise,
    }


@pytest.fixture
def make_project(app, db, world):
    def _make(
        name: str,
        *,
        promoted: bool = True,
        public: tuple[str, ...] = ("industry", "county", "contract_amount", "description"),
        stage: ProjectStage = ProjectStage.RESERVE,
        enterprise=None,
        **fields,
    ):
        fields.setdefault("industry", world["battery"])
        fields.setdefault("county", world["county"])
        fields.setdefault("contract_amount_wan", Decimal("150000"))
        with app.test_request_context():
            project = create_project(
                enterprise or world["enterprise"],
                actor=None,
                name=name,
                stage=stage,
                stage_on=today() - timedelta(days=30),
                **fields,
            )
            update_project(
                project,
                actor=None,
                expected_version=project.version,
                is_promoted=promoted,
                public_fields=list(public),
            )
            db.session.commit()
        return project

    return _make


def test_anonymous_sees_the_list_without_a_session(client, world, make_project):
    project = make_project(
        "动力电池正极材料项目",
        name_en="Cathode materials for power batteries",
        description="年产10万吨正极材料，配套动力电池产业链。",
        description_en="100,000 t/year of cathode materials.",
    )
    response = client.get("/opportunities")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert project.name in html and "Cathode materials for power batteries" in html
    # Bilingual labels and values, side by side.
    assert "行业" in html and "Industry" in html
    assert "县(区)" in html and "County / district" in html
    assert "动力电池" in html and "Power batteries" in html
    assert "叙州区" in html and "Xuzhou District" in html
    assert "15 亿元" in html and "15 hundred million yuan" in html
    assert f"/opportunities/{project.id}" in html
    # Public: no sign-in, no cookie, nothing that needs a session.
    assert "Set-Cookie" not in response.headers
    assert "csrf_token" not in html


def test_only_fields_marked_public_are_shown(client, world, make_project):
    project = make_project(
        "锂电池回收利用项目",
        public=("industry",),
        park=world["park"],
        contract_amount_wan=Decimal("12345.6789"),
        description="内部：企业希望获得用地优惠。",
        platform_number="YB2026-000777",
        committed_jobs=321,
    )
    for url in ("/opportunities", f"/opportunities/{project.id}"):
        html = client.get(url).get_data(as_text=True)
        assert project.name in html
        assert "动力电池" in html  # industry is public
        # Never the enterprise, nor a field that is not marked public.
        assert ENTERPRISE not in html
        assert "宜宾临港经济技术开发区" not in html
        assert "叙州区" not in html
        assert "12,345.6789" not in html and "12345.6789" not in html
        assert "内部：企业希望获得用地优惠。" not in html
        assert "YB2026-000777" not in html and "321" not in html


def test_detail_shows_the_public_fields_in_both_languages(client, world, make_project):
    project = make_project(
        "光伏电池片项目",
        name_en="Solar cell project",
        industry=world["solar"],
        park=world["park"],
        public=("industry", "park", "contract_amount", "description"),
        contract_amount_wan=Decimal("8000"),
        description="建设高效电池片生产线。",
        description_en="High-efficiency solar cell lines.",
    )
    response = client.get(f"/opportunities/{project.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "光伏电池片项目" in html and "Solar cell project" in html
    assert "晶硅光伏" in html and "Crystalline-silicon photovoltaics" in html
    assert "宜宾临港经济技术开发区" in html
    assert "8,000 万元" in html and "8,000 ten thousand yuan" in html
    assert "建设高效电池片生产线。" in html and "High-efficiency solar cell lines." in html
    assert "描述" in html and "Description" in html
    assert ENTERPRISE not in html
    assert "叙州区" not in html  # county not marked public


def test_not_promoted_is_not_listed_and_answers_404(client, make_project):
    hidden = make_project("未推介项目", promoted=False)
    shown = make_project("推介项目")
    html = client.get("/opportunities").get_data(as_text=True)
    assert "推介项目" in html and "未推介项目" not in html
    assert client.get(f"/opportunities/{hidden.id}").status_code == 404
    assert client.get(f"/opportunities/{shown.id}").status_code == 200


@pytest.mark.parametrize(
    "stage", [ProjectStage.NEGOTIATION, ProjectStage.SIGNED, ProjectStage.STARTED]
)
def test_a_project_beyond_reserve_answers_404(client, make_project, stage):
    project = make_project("已签约项目", stage=stage)
    assert project.is_promoted
    assert client.get(f"/opportunities/{project.id}").status_code == 404
    assert "已签约项目" not in client.get("/opportunities").get_data(as_text=True)


def test_terminated_signed_or_deleted_projects_leave_the_list(
    app, db, client, world, make_project, make_enterprise
):
    terminated = make_project("终止项目")
    signed = make_project("签约项目")
    deleted = make_project("删除项目")
    other = make_enterprise("另一家企业有限公司", [world["county"]])
    of_deleted_enterprise = make_project("企业已删除的项目", enterprise=other)
    for project in (terminated, signed, deleted, of_deleted_enterprise):
        assert client.get(f"/opportunities/{project.id}").status_code == 200
    with app.test_request_context():
        change_stage(
            terminated,
            actor=None,
            expected_version=terminated.version,
            to_stage=ProjectStage.TERMINATED,
            effective_on=today(),
            reason="企业投资计划调整",
        )
        change_stage(
            signed,
            actor=None,
            expected_version=signed.version,
            to_stage=ProjectStage.SIGNED,
            effective_on=today(),
            reason="直接签约",
        )
        delete_project(deleted, actor=None)
        from crm.enterprises.services import delete_enterprise

        delete_enterprise(other, actor=None)
        db.session.commit()
    html = client.get("/opportunities").get_data(as_text=True)
    for project in (terminated, signed, deleted, of_deleted_enterprise):
        assert client.get(f"/opportunities/{project.id}").status_code == 404
        assert f'data-project="{project.id}"' not in html
    assert client.get("/opportunities/999999").status_code == 404


def _select(html: str, name: str) -> str:
    start = html.index(f'name="{name}"')
    return html[start : html.index("</select>", start)]


def test_filters_offer_and_apply_public_values_only(client, world, make_project):
    battery = make_project("电池项目", industry=world["battery"], county=world["county"])
    solar = make_project(
        "光伏项目",
        industry=world["solar"],
        county=world["other_county"],
        public=("industry",),  # its county 南溪区 is not public
    )
    html = client.get("/opportunities").get_data(as_text=True)
    counties = _select(html, "county")
    assert f'<option value="{world["county"].id}"' in counties
    assert f'<option value="{world["other_county"].id}"' not in counties
    assert "南溪区" not in html
    assert f'<option value="{world["solar"].id}"' in _select(html, "industry")

    html = client.get(f"/opportunities?industry={world['solar'].id}").get_data(as_text=True)
    assert f'data-project="{solar.id}"' in html and f'data-project="{battery.id}"' not in html

    html = client.get(f"/opportunities?county={world['county'].id}").get_data(as_text=True)
    assert f'data-project="{battery.id}"' in html and f'data-project="{solar.id}"' not in html

    # A county no listed project shows publicly is no filter at all: nothing is revealed.
    html = client.get(f"/opportunities?county={world['other_county'].id}").get_data(as_text=True)
    assert f'data-project="{battery.id}"' in html and f'data-project="{solar.id}"' in html
    assert client.get("/opportunities?county=abc&industry=-1").status_code == 200


def test_paging(app, client, make_project):
    projects = [make_project(f"储备项目{i}") for i in range(5)]
    saved = app.config["PAGE_SIZE"]
    app.config["PAGE_SIZE"] = 2
    try:
        first = client.get("/opportunities").get_data(as_text=True)
        third = client.get("/opportunities?page=3").get_data(as_text=True)
        beyond = client.get("/opportunities?page=9")
    finally:
        app.config["PAGE_SIZE"] = saved
    assert first.count('data-project="') == 2
    assert "page=3" in first
    assert third.count('data-project="') == 1
    assert f'data-project="{projects[0].id}"' in third  # newest first: the oldest is last
    assert beyond.status_code == 200 and 'data-project="' not in beyond.get_data(as_text=True)


def test_signed_in_users_see_the_same_public_page(client, login, make_user, make_project):
    from crm.models import Role

    project = make_project("储备项目")
    login(make_user(Role.STAFF))
    html = client.get(f"/opportunities/{project.id}").get_data(as_text=True)
    assert project.name in html and ENTERPRISE not in html


def test_both_renders_a_message_in_each_language(app):
    with app.test_request_context():
        assert tuple(both(_l("Industry"))) == ("行业", "Industry")
        assert tuple(both_amount(Decimal("150000"))) == ("15 亿元", "15 hundred million yuan")
