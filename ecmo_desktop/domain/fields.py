"""The field catalogue: every number a form asks for, with its unit, hard limits and normal range.

One place decides what "plausible" (refuse outside, with a Chinese message naming the field) and
"normal" (accept, but highlight) mean, so the forms, the service validation, the PDF and the export
agree. Limits follow DOMAIN.md (c1)–(c4); where it gives only a typical target, that target is the
normal range. Keys are stable: they are stored in the JSON columns and exported.

Forms: ``pre_ecmo`` (decision), ``procedure`` (initial settings of a cannulation), ``daily``
(daily management), ``weaning`` (weaning trials), ``cannula`` (per cannula), ``follow_up``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ecmo_desktop.domain.errors import FieldError, ValidationError
from ecmo_desktop.domain.validation import Range
from ecmo_desktop.i18n import N_

PRE, PROC, DAILY, WEAN, CANN, FU = "pre_ecmo", "procedure", "daily", "weaning", "cannula", "follow_up"
FORMS = (PRE, PROC, DAILY, WEAN, CANN, FU)


@dataclass(frozen=True)
class FieldSpec:
    """One numeric field: ``range`` holds the label msgid, unit, hard limits and normal range."""

    key: str
    range: Range
    forms: frozenset[str]
    section: str  # msgid of the form section
    va_only: bool = False  # only meaningful on veno-arterial support
    decimals: int = 1

    @property
    def label(self) -> str:
        return self.range.field

    @property
    def unit(self) -> str:
        return self.range.unit


@dataclass(frozen=True)
class ChoiceSpec:
    """A coded (non-numeric) field: the allowed values with their label msgids."""

    key: str
    label: str
    options: tuple[tuple[str, str], ...]
    forms: frozenset[str]
    section: str

    def label_of(self, value: str) -> str:
        return dict(self.options).get(value, value)


_CIRC, _ANTI, _HAEM = N_("循环管路"), N_("抗凝"), N_("溶血")
_HD, _ECHO, _RESP, _GAS = N_("血流动力学"), N_("心脏超声"), N_("呼吸"), N_("血气")
_LAB, _RENAL, _NEURO, _TX = N_("实验室检查"), N_("肾脏与液体"), N_("神经系统"), N_("输血与血制品")
_VASO, _SCORE, _CPR, _SET = N_("血管活性药物"), N_("评分"), N_("心肺复苏"), N_("上机参数")
_CANN, _FU = N_("插管"), N_("随访")


def _f(
    key: str,
    label: str,
    unit: str,
    low: float,
    high: float,
    normal_low: float | None,
    normal_high: float | None,
    forms: Iterable[str],
    section: str,
    *,
    integer: bool = False,
    decimals: int | None = None,
    va_only: bool = False,
) -> FieldSpec:
    return FieldSpec(
        key,
        Range(label, unit, low, high, normal_low, normal_high, integer),
        frozenset(forms),
        section,
        va_only,
        0 if integer else (1 if decimals is None else decimals),
    )


ALL_CLINICAL = (PRE, DAILY, WEAN)

NUMERIC_FIELDS: tuple[FieldSpec, ...] = (
    # ---- circuit (daily) and initial settings (procedure) ----------------------------------------
    _f("rpm", N_("泵转速"), "RPM", 0, 6000, 1500, 4000, (PROC, DAILY), _CIRC, integer=True),
    _f("blood_flow", N_("血流量"), "L/min", 0, 8, 2.0, 6.0, (PROC, DAILY, WEAN), _CIRC, decimals=2),
    _f("sweep", N_("气流量"), "L/min", 0, 15, 0.5, 10, (PROC, DAILY, WEAN), _CIRC),
    _f("fdo2", N_("膜肺氧浓度 FdO2"), "", 0.21, 1.0, None, None, (PROC, DAILY, WEAN), _CIRC, decimals=2),
    _f("p_drainage", N_("引流压（泵前压）"), "mmHg", -300, 50, -100, 0, (DAILY,), _CIRC, integer=True),
    _f("p_pre_oxy", N_("膜前压"), "mmHg", 0, 600, 100, 350, (DAILY,), _CIRC, integer=True),
    _f("p_post_oxy", N_("膜后压"), "mmHg", 0, 500, 80, 300, (DAILY,), _CIRC, integer=True),
    _f("post_oxy_pao2", N_("膜后血氧分压"), "mmHg", 0, 700, 200, 700, (DAILY,), _CIRC, integer=True),
    _f("post_oxy_paco2", N_("膜后二氧化碳分压"), "mmHg", 0, 200, 15, 45, (DAILY,), _CIRC, integer=True),
    _f("pre_oxy_sat", N_("膜前血氧饱和度"), "%", 0, 100, 60, 85, (DAILY,), _CIRC, integer=True),
    _f("heater_temp", N_("变温水箱温度"), "°C", 30, 40, 35, 37.5, (PROC, DAILY), _CIRC),
    _f("clot_size", N_("管路血栓最大直径"), "mm", 0, 100, 0, 5, (DAILY,), _CIRC, integer=True),
    _f("priming_volume", N_("预充量"), "mL", 100, 1500, None, None, (PROC,), _SET, integer=True),
    _f("heparin_bolus", N_("肝素负荷量"), "U/kg", 0, 150, 50, 100, (PROC,), _SET, integer=True),
    _f("baseline_act", N_("基础 ACT"), "s", 60, 999, 80, 140, (PROC,), _SET, integer=True),
    _f("blood_loss", N_("术中失血量"), "mL", 0, 10000, 0, 500, (PROC,), _SET, integer=True),
    # ---- anticoagulation ------------------------------------------------------------------------
    _f("heparin_dose", N_("肝素剂量"), "U/kg/h", 0, 60, None, None, (DAILY,), _ANTI),
    _f("dti_dose", N_("比伐芦定/阿加曲班剂量"), "µg/kg/min", 0, 20, None, None, (DAILY,), _ANTI, decimals=2),
    _f("act", "ACT", "s", 60, 999, 140, 220, (DAILY,), _ANTI, integer=True),
    _f("aptt", "APTT", "s", 10, 250, 40, 80, (PRE, DAILY), _ANTI),
    _f("anti_xa", N_("抗Xa活性"), "IU/mL", 0, 2, 0.3, 0.7, (DAILY,), _ANTI, decimals=2),
    _f("inr", "INR", "", 0.5, 15, 0.8, 1.5, (PRE, DAILY), _ANTI, decimals=2),
    _f("fibrinogen", N_("纤维蛋白原"), "g/L", 0, 15, 1.5, 4.0, (PRE, DAILY), _ANTI, decimals=2),
    _f("at3", N_("抗凝血酶III活性"), "%", 0, 200, 80, 120, (DAILY,), _ANTI, integer=True),
    _f("d_dimer", N_("D-二聚体"), "mg/L FEU", 0, 100, 0, 0.55, (DAILY,), _ANTI, decimals=2),
    # ---- haemolysis ------------------------------------------------------------------------------
    _f("pfhb", N_("血浆游离血红蛋白"), "mg/L", 0, 3000, 0, 500, (PRE, DAILY), _HAEM, integer=True),
    _f("ldh", "LDH", "U/L", 0, 20000, 100, 250, (DAILY,), _HAEM, integer=True),
    _f("tbil", N_("总胆红素"), "µmol/L", 0, 1000, 0, 21, (PRE, DAILY), _HAEM),
    _f("ibil", N_("间接胆红素"), "µmol/L", 0, 800, 0, 17, (DAILY,), _HAEM),
    # ---- haemodynamics ---------------------------------------------------------------------------
    _f("hr", N_("心率"), "次/分", 0, 300, 60, 100, ALL_CLINICAL, _HD, integer=True),
    _f("sbp", N_("收缩压"), "mmHg", 0, 300, 90, 140, ALL_CLINICAL, _HD, integer=True),
    _f("dbp", N_("舒张压"), "mmHg", 0, 300, 50, 90, ALL_CLINICAL, _HD, integer=True),
    _f("map", N_("平均动脉压"), "mmHg", 0, 300, 65, 90, ALL_CLINICAL, _HD, integer=True),
    _f("pulse_pressure", N_("脉压"), "mmHg", 0, 100, 10, 60, (DAILY, WEAN), _HD, integer=True, va_only=True),
    _f("cvp", N_("中心静脉压"), "mmHg", -10, 50, 2, 12, ALL_CLINICAL, _HD, integer=True),
    _f("pap_sys", N_("肺动脉收缩压"), "mmHg", 0, 150, 15, 30, (PRE,), _HD, integer=True),
    _f("pap_dia", N_("肺动脉舒张压"), "mmHg", 0, 150, 4, 12, (PRE,), _HD, integer=True),
    _f("pap_mean", N_("肺动脉平均压"), "mmHg", 0, 150, 10, 20, (PRE,), _HD, integer=True),
    _f("pcwp", N_("肺动脉楔压"), "mmHg", 0, 60, 6, 12, (PRE,), _HD, integer=True),
    _f("ci", N_("心脏指数"), "L/min/m²", 0, 10, 2.5, 4.0, (PRE,), _HD, decimals=2),
    _f("spo2", N_("SpO2（VA 为右手）"), "%", 0, 100, 92, 100, ALL_CLINICAL, _HD, integer=True),
    _f("spo2_lower", N_("下肢 SpO2"), "%", 0, 100, 92, 100, (DAILY,), _HD, integer=True, va_only=True),
    _f("temperature", N_("体温"), "°C", 30, 43, 36, 37.5, (PRE, DAILY), _HD),
    _f("nirs_left", N_("脑氧饱和度（左）"), "%", 0, 100, 55, 85, (DAILY,), _HD, integer=True),
    _f("nirs_right", N_("脑氧饱和度（右）"), "%", 0, 100, 55, 85, (DAILY,), _HD, integer=True),
    # ---- vasoactives (VIS is computed from these) -------------------------------------------------
    _f("dopamine", N_("多巴胺"), "µg/kg/min", 0, 50, None, None, ALL_CLINICAL, _VASO, decimals=2),
    _f("dobutamine", N_("多巴酚丁胺"), "µg/kg/min", 0, 40, None, None, ALL_CLINICAL, _VASO, decimals=2),
    _f("epinephrine", N_("肾上腺素"), "µg/kg/min", 0, 5, None, None, ALL_CLINICAL, _VASO, decimals=3),
    _f("norepinephrine", N_("去甲肾上腺素"), "µg/kg/min", 0, 5, None, None, ALL_CLINICAL, _VASO, decimals=3),
    _f("milrinone", N_("米力农"), "µg/kg/min", 0, 2, None, None, ALL_CLINICAL, _VASO, decimals=3),
    _f("vasopressin", N_("血管加压素"), "U/kg/min", 0, 0.01, None, None, ALL_CLINICAL, _VASO, decimals=5),
    # ---- echo ------------------------------------------------------------------------------------
    _f("lvef", N_("左室射血分数 LVEF"), "%", 0, 80, 50, 80, ALL_CLINICAL, _ECHO, integer=True),
    _f("lvot_vti", N_("左室流出道 VTI"), "cm", 0, 40, 10, 40, (DAILY, WEAN), _ECHO, va_only=True),
    # ---- respiratory -----------------------------------------------------------------------------
    _f("vent_fio2", N_("呼吸机 FiO2"), "", 0.21, 1.0, 0.21, 0.5, ALL_CLINICAL, _RESP, decimals=2),
    _f("peep", "PEEP", "cmH2O", 0, 30, 5, 15, ALL_CLINICAL, _RESP, integer=True),
    _f("pplat", N_("平台压"), "cmH2O", 0, 70, 0, 25, ALL_CLINICAL, _RESP, integer=True),
    _f("mean_airway_pressure", N_("平均气道压"), "cmH2O", 0, 50, None, None, (PRE,), _RESP, integer=True),
    _f("tidal_volume", N_("潮气量"), "mL", 0, 1500, None, None, ALL_CLINICAL, _RESP, integer=True),
    _f("resp_rate", N_("呼吸频率"), "次/分", 0, 80, 5, 30, ALL_CLINICAL, _RESP, integer=True),
    _f("mv_days", N_("上机前机械通气天数"), N_("天"), 0, 60, 0, 7, (PRE,), _RESP, integer=True),
    _f("ino_ppm", N_("一氧化氮吸入浓度"), "ppm", 0, 80, None, None, (PRE,), _RESP, integer=True),
    _f("prone_hours", N_("俯卧位时间"), N_("小时"), 0, 24, None, None, (DAILY,), _RESP),
    # ---- blood gas (patient) ---------------------------------------------------------------------
    _f("ph", "pH", "", 6.5, 7.9, 7.35, 7.45, ALL_CLINICAL, _GAS, decimals=2),
    _f("paco2", "PaCO2", "mmHg", 5, 200, 35, 45, ALL_CLINICAL, _GAS, integer=True),
    _f("pao2", "PaO2", "mmHg", 10, 700, 60, 300, ALL_CLINICAL, _GAS, integer=True),
    _f("sao2", "SaO2", "%", 0, 100, 90, 100, (PRE, DAILY), _GAS, integer=True),
    _f("hco3", "HCO3⁻", "mmol/L", 2, 60, 22, 27, (PRE, DAILY), _GAS),
    _f("be", N_("碱剩余 BE"), "mmol/L", -40, 30, -3, 3, (PRE, DAILY), _GAS),
    _f("lactate", N_("乳酸"), "mmol/L", 0, 35, 0, 2, ALL_CLINICAL, _GAS),
    _f("svo2", "SvO2/ScvO2", "%", 0, 100, 65, 80, ALL_CLINICAL, _GAS, integer=True),
    _f("k", N_("血钾"), "mmol/L", 1.5, 10, 3.5, 5.5, (PRE, DAILY), _GAS),
    _f("na", N_("血钠"), "mmol/L", 100, 180, 135, 145, (PRE, DAILY), _GAS, integer=True),
    _f("glucose", N_("血糖"), "mmol/L", 0.5, 50, 3.9, 10, (PRE, DAILY), _GAS),
    # ---- laboratory ------------------------------------------------------------------------------
    _f("hb", N_("血红蛋白"), "g/L", 20, 250, 80, 160, (PRE, DAILY), _LAB, integer=True),
    _f("plt", N_("血小板"), "×10⁹/L", 0, 1500, 50, 400, (PRE, DAILY), _LAB, integer=True),
    _f("wbc", N_("白细胞"), "×10⁹/L", 0, 200, 4, 10, (PRE, DAILY), _LAB),
    _f("creatinine", N_("肌酐"), "µmol/L", 10, 2000, 44, 133, (PRE, DAILY), _LAB, integer=True),
    _f("alt", "ALT", "U/L", 0, 10000, 0, 40, (PRE, DAILY), _LAB, integer=True),
    _f("ast", "AST", "U/L", 0, 20000, 0, 40, (PRE, DAILY), _LAB, integer=True),
    _f("pct", N_("降钙素原"), "ng/mL", 0, 1000, 0, 0.5, (PRE, DAILY), _LAB, decimals=2),
    _f("crp", N_("C反应蛋白"), "mg/L", 0, 500, 0, 10, (PRE, DAILY), _LAB),
    # ---- renal and fluid -------------------------------------------------------------------------
    _f("urine_output", N_("尿量（24小时）"), "mL", 0, 15000, 500, 4000, (DAILY,), _RENAL, integer=True),
    _f("fluid_balance", N_("液体平衡"), "mL", -20000, 20000, -2000, 2000, (DAILY,), _RENAL, integer=True),
    _f("kdigo", N_("AKI 分期（KDIGO）"), "", 0, 3, 0, 0, (DAILY,), _RENAL, integer=True),
    # ---- neurology and scores --------------------------------------------------------------------
    _f("gcs", "GCS", "", 3, 15, 13, 15, (PRE, DAILY), _NEURO, integer=True),
    _f("rass", "RASS", "", -5, 4, -2, 0, (DAILY,), _NEURO, integer=True),
    _f("sofa", "SOFA", "", 0, 24, 0, 6, (PRE,), _SCORE, integer=True),
    _f("apache2", "APACHE II", "", 0, 71, 0, 15, (PRE,), _SCORE, integer=True),
    _f("resp_score", N_("RESP 评分"), "", -22, 15, None, None, (PRE,), _SCORE, integer=True),
    _f("save_score", N_("SAVE 评分"), "", -35, 17, None, None, (PRE,), _SCORE, integer=True),
    # ---- cardiac arrest (ECPR) -------------------------------------------------------------------
    _f("no_flow_minutes", N_("无血流时间"), N_("分钟"), 0, 60, 0, 5, (PRE,), _CPR, integer=True),
    _f(
        "cpr_minutes",
        N_("心肺复苏持续时间（低流量时间）"),
        N_("分钟"),
        0,
        300,
        0,
        60,
        (PRE,),
        _CPR,
        integer=True,
    ),
    # ---- transfusion (per 24 h) ------------------------------------------------------------------
    _f("rbc_units", N_("红细胞"), "U", 0, 50, None, None, (DAILY,), _TX),
    _f("plt_units", N_("血小板（治疗量）"), N_("治疗量"), 0, 20, None, None, (DAILY,), _TX),
    _f("ffp_ml", N_("血浆"), "mL", 0, 10000, None, None, (DAILY,), _TX, integer=True),
    _f("cryo_units", N_("冷沉淀"), "U", 0, 100, None, None, (DAILY,), _TX),
    _f("fibrinogen_conc", N_("纤维蛋白原浓缩物"), "g", 0, 20, None, None, (DAILY,), _TX),
    # ---- cannula --------------------------------------------------------------------------------
    _f("size_fr", N_("插管型号"), "Fr", 6, 34, None, None, (CANN,), _CANN, integer=True),
    _f("length_cm", N_("插管长度"), "cm", 5, 70, None, None, (CANN,), _CANN),
    _f("depth_cm", N_("置入深度"), "cm", 2, 70, None, None, (CANN,), _CANN),
    # ---- follow-up --------------------------------------------------------------------------------
    _f("cpc", N_("脑功能分级 CPC"), "", 1, 5, 1, 2, (FU,), _FU, integer=True),
    _f("mrs", N_("改良Rankin量表 mRS"), "", 0, 6, 0, 2, (FU,), _FU, integer=True),
    _f("eq5d_index", N_("EQ-5D 指数"), "", -0.391, 1.0, 0.7, 1.0, (FU,), _FU, decimals=3),
)

FIELDS: dict[str, FieldSpec] = {f.key: f for f in NUMERIC_FIELDS}

# typical cannula sizes by role (DOMAIN.md (c1)); outside is highlighted, not refused
CANNULA_NORMAL_FR: dict[str, tuple[float, float]] = {
    "drainage": (21, 29),
    "return": (15, 23),
    "distal_perfusion": (6, 10),
    "dual_lumen": (20, 32),
}

# ---- computed values -------------------------------------------------------------------------------
DERIVED: dict[str, Range] = {
    "delta_p": Range(N_("跨膜压差（膜前压−膜后压）"), "mmHg", 0, 200, 0, 50),
    "pf_ratio": Range(N_("氧合指数 PaO2/FiO2"), "mmHg", 0, 3500, 300, None),
    "driving_pressure": Range(N_("驱动压（平台压−PEEP）"), "cmH2O", 0, 70, 0, 15),
    "vis": Range(N_("血管活性药物评分 VIS"), "", 0, 500, 0, 20),
}

# Gaies 2010: dopamine + dobutamine + 100·epinephrine + 10·milrinone + 10 000·vasopressin + 100·norepinephrine
VIS_WEIGHTS: dict[str, float] = {
    "dopamine": 1,
    "dobutamine": 1,
    "epinephrine": 100,
    "milrinone": 10,
    "vasopressin": 10000,
    "norepinephrine": 100,
}


# ---- coded fields --------------------------------------------------------------------------------------
_YES_NO = (("yes", N_("是")), ("no", N_("否")))


def _c(
    key: str, label: str, options: tuple[tuple[str, str], ...], forms: Iterable[str], section: str
) -> ChoiceSpec:
    return ChoiceSpec(key, label, options, frozenset(forms), section)


_VENT_MODES = (
    ("none", N_("未机械通气")),
    ("vc", N_("容量控制")),
    ("pc", N_("压力控制")),
    ("simv", "SIMV"),
    ("psv", N_("压力支持")),
    ("aprv", "APRV"),
    ("hfov", N_("高频振荡")),
    ("niv", N_("无创通气")),
    ("hfnc", N_("经鼻高流量")),
    ("bag", N_("简易呼吸器")),
)

CHOICE_FIELDS: tuple[ChoiceSpec, ...] = (
    _c("vent_mode", N_("通气方式"), _VENT_MODES, (PRE, DAILY), _RESP),
    _c("prone", N_("俯卧位"), _YES_NO, (PRE, DAILY), _RESP),
    _c("ino", N_("吸入一氧化氮"), _YES_NO, (PRE,), _RESP),
    _c("nmb", N_("肌松剂"), _YES_NO, (PRE,), _RESP),
    _c(
        "mcs",
        N_("已有机械循环辅助"),
        (("none", N_("无")), ("iabp", "IABP"), ("impella", "Impella"), ("other", N_("其他"))),
        (PRE,),
        _HD,
    ),
    _c("cardiac_arrest", N_("上机前心脏骤停"), _YES_NO, (PRE,), _CPR),
    _c("arrest_location", N_("心脏骤停地点"), (("ihca", N_("院内")), ("ohca", N_("院外"))), (PRE,), _CPR),
    _c("witnessed", N_("有目击者"), _YES_NO, (PRE,), _CPR),
    _c("bystander_cpr", N_("旁观者心肺复苏"), _YES_NO, (PRE,), _CPR),
    _c(
        "initial_rhythm",
        N_("初始心律"),
        (
            ("vf", N_("室颤")),
            ("pvt", N_("无脉性室速")),
            ("pea", N_("无脉电活动")),
            ("asystole", N_("心脏停搏")),
            ("unknown", N_("不详")),
        ),
        (PRE,),
        _CPR,
    ),
    _c("rosc", N_("曾恢复自主循环"), _YES_NO, (PRE,), _CPR),
    _c(
        "anticoagulant",
        N_("抗凝药物"),
        (
            ("ufh", N_("普通肝素")),
            ("bivalirudin", N_("比伐芦定")),
            ("argatroban", N_("阿加曲班")),
            ("none", N_("未抗凝")),
        ),
        (DAILY,),
        _ANTI,
    ),
    _c(
        "crrt",
        "CRRT",
        (("none", N_("无")), ("circuit", N_("接入ECMO管路")), ("catheter", N_("独立透析导管"))),
        (DAILY,),
        _RENAL,
    ),
    _c("av_opening", N_("主动脉瓣开放"), _YES_NO, (DAILY, WEAN), _ECHO),
    _c("lv_distension", N_("左室扩张/云雾影"), _YES_NO, (DAILY, WEAN), _ECHO),
    _c(
        "lv_unloading",
        N_("左室减压"),
        (
            ("none", N_("无")),
            ("iabp", "IABP"),
            ("impella", "Impella"),
            ("septostomy", N_("房间隔造口")),
            ("lv_vent", N_("左心引流管")),
        ),
        (DAILY,),
        _ECHO,
    ),
    _c(
        "limb_perfusion",
        N_("远端肢体灌注"),
        (("normal", N_("良好")), ("reduced", N_("减弱")), ("absent", N_("缺血")), ("na", N_("不适用"))),
        (DAILY,),
        _CANN,
    ),
    _c(
        "cannula_site",
        N_("插管部位"),
        (
            ("normal", N_("无异常")),
            ("ooze", N_("渗血")),
            ("bleeding", N_("出血需处理")),
            ("infection", N_("感染征象")),
        ),
        (DAILY,),
        _CANN,
    ),
    _c(
        "differential_hypoxaemia",
        N_("差异性低氧"),
        (("no", N_("无")), ("yes", N_("有")), ("na", N_("不适用"))),
        (DAILY,),
        _HD,
    ),
    _c(
        "circuit_check",
        N_("管路检查"),
        (
            ("ok", N_("无异常")),
            ("fibrin", N_("纤维蛋白沉积")),
            ("clot", N_("血栓")),
            ("air", N_("进气")),
            ("chatter", N_("抖管")),
            ("leak", N_("渗漏")),
        ),
        (DAILY,),
        _CIRC,
    ),
    _c(
        "oxygenator_check",
        N_("氧合器检查"),
        (
            ("ok", N_("无异常")),
            ("fibrin", N_("纤维蛋白沉积")),
            ("clot", N_("血栓")),
            ("plasma_leak", N_("血浆渗漏")),
            ("dysfunction", N_("氧合功能下降")),
        ),
        (DAILY,),
        _CIRC,
    ),
    _c(
        "urine_colour",
        N_("尿色"),
        (("normal", N_("正常")), ("tea", N_("浓茶色")), ("cola", N_("可乐色"))),
        (DAILY,),
        _HAEM,
    ),
    _c(
        "pupils",
        N_("瞳孔"),
        (("normal", N_("等大、对光反射存在")), ("abnormal", N_("异常")), ("dilated_fixed", N_("散大固定"))),
        (DAILY,),
        _NEURO,
    ),
    _c("seizure", N_("抽搐"), _YES_NO, (DAILY,), _NEURO),
    _c(
        "nutrition",
        N_("营养"),
        (("en", N_("肠内")), ("pn", N_("肠外")), ("en_pn", N_("肠内+肠外")), ("npo", N_("禁食"))),
        (DAILY,),
        _RENAL,
    ),
)

CHOICES: dict[str, ChoiceSpec] = {c.key: c for c in CHOICE_FIELDS}

CONTRAINDICATIONS: tuple[tuple[str, str], ...] = (
    ("irreversible_brain_injury", N_("不可逆脑损伤")),
    ("terminal_malignancy", N_("终末期恶性肿瘤")),
    ("uncontrolled_bleeding", N_("无法控制的出血或抗凝禁忌")),
    ("irreversible_mof", N_("不可逆多器官功能衰竭")),
    ("severe_ar", N_("严重主动脉瓣关闭不全（VA）")),
    ("aortic_dissection", N_("主动脉夹层（VA）")),
    ("prolonged_mv", N_("高参数机械通气超过 7 天（VV）")),
    ("unwitnessed_arrest", N_("无目击心脏骤停或低流量时间过长（ECPR）")),
    ("severe_immunosuppression", N_("严重免疫抑制")),
    ("no_exit_strategy", N_("无撤机或过渡策略")),
)

IMMEDIATE_COMPLICATIONS: tuple[tuple[str, str], ...] = (
    ("site_bleeding", N_("插管部位出血")),
    ("vessel_injury", N_("血管损伤/夹层")),
    ("malposition", N_("插管位置不当")),
    ("arrhythmia", N_("心律失常")),
    ("arrest", N_("插管时心脏骤停")),
    ("failed_cannulation", N_("穿刺失败/改切开")),
)


def fields_for(form: str) -> tuple[FieldSpec, ...]:
    """The numeric fields of one form, in catalogue order."""
    return tuple(f for f in NUMERIC_FIELDS if form in f.forms)


def choices_for(form: str) -> tuple[ChoiceSpec, ...]:
    return tuple(c for c in CHOICE_FIELDS if form in c.forms)


# ---- validation ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Parsed:
    """Validated numbers of one form: values by key (ints for integer fields) and abnormal keys."""

    values: dict[str, float | int]
    abnormal: tuple[str, ...]


def _store(spec: FieldSpec, number: float) -> float | int:
    return int(number) if spec.range.integer else number


def parse_values(form: str, raw: Mapping[str, Any] | None) -> Parsed:
    """Parse every value of ``raw`` against the catalogue; collect all errors before refusing.

    Unknown keys are refused (a typo must not silently drop a measurement); empty values are
    dropped, so a form can send every key it shows.
    """
    errors: list[FieldError] = []
    values: dict[str, float | int] = {}
    abnormal: list[str] = []
    for key, value in (raw or {}).items():
        spec = FIELDS.get(key)
        if spec is None or form not in spec.forms:
            errors.append(FieldError(str(key)[:40], N_("不是本表单的字段")))
            continue
        try:
            number = spec.range.parse(value)
        except ValidationError as exc:
            errors.extend(exc.errors)
            continue
        if number is None:
            continue
        values[key] = _store(spec, number)
        if spec.range.is_abnormal(number):
            abnormal.append(key)
    if errors:
        raise ValidationError(errors)
    return Parsed(values, tuple(abnormal))


def parse_choices(form: str, raw: Mapping[str, Any] | None) -> dict[str, str]:
    """Coded values: each must be one of its field's options (empty values are dropped)."""
    errors: list[FieldError] = []
    out: dict[str, str] = {}
    for key, value in (raw or {}).items():
        spec = CHOICES.get(key)
        if spec is None or form not in spec.forms:
            errors.append(FieldError(str(key)[:40], N_("不是本表单的字段")))
            continue
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            value = "yes" if value else "no"
        if str(value) not in dict(spec.options):
            errors.append(FieldError(spec.label, N_("请选择")))
            continue
        out[key] = str(value)
    if errors:
        raise ValidationError(errors)
    return out


def parse_one(key: str, value: Any, *, required: bool = False) -> float | int | None:
    """One catalogue field outside a form mapping (cannula size, weaning flow, CPC …)."""
    spec = FIELDS[key]
    number = spec.range.parse(value, required=required)
    return None if number is None else _store(spec, number)


def derive_unchecked(values: Mapping[str, Any]) -> dict[str, float]:
    """Computed values (ΔP, P/F, driving pressure, VIS) from whatever is stored, without refusing."""
    values = {k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    out: dict[str, float] = {}
    if "p_pre_oxy" in values and "p_post_oxy" in values:
        out["delta_p"] = float(values["p_pre_oxy"]) - float(values["p_post_oxy"])
    if "pao2" in values and values.get("vent_fio2"):
        out["pf_ratio"] = round(float(values["pao2"]) / float(values["vent_fio2"]), 1)
    if "pplat" in values and "peep" in values:
        out["driving_pressure"] = float(values["pplat"]) - float(values["peep"])
    doses = [(k, w) for k, w in VIS_WEIGHTS.items() if k in values]
    if doses:
        out["vis"] = round(sum(float(values[k]) * w for k, w in doses), 1)
    return out


def derive(values: Mapping[str, float | int]) -> dict[str, float]:
    """Computed values of a form being saved; an impossible one (ΔP < 0) is refused by name."""
    out = derive_unchecked(values)
    errors: list[FieldError] = []
    for key, number in out.items():
        try:
            DERIVED[key].parse(number)
        except ValidationError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationError(errors)
    return out


def derived_abnormal(derived: Mapping[str, float]) -> tuple[str, ...]:
    return tuple(k for k, v in derived.items() if DERIVED[k].is_abnormal(v))


def contraindications_assessed(values: Mapping[str, Any] | None) -> bool:
    """Whether a start decision's contraindication checklist was assessed at all.

    An empty mapping means *not assessed* (printed and shown as 未评估); an assessed checklist holds
    every item as True (present) or False (assessed, absent). "No answer" must never read as "none".
    """
    return bool(values)


def check_contraindications(raw: Mapping[str, Any] | None) -> dict[str, bool]:
    """The checklist as stored: ``{}`` when not assessed, else an answer for each named item."""
    known = dict(CONTRAINDICATIONS)
    out: dict[str, bool] = {}
    for key, value in (raw or {}).items():
        if key not in known:
            raise ValidationError(FieldError(N_("禁忌证"), N_("未知的禁忌证条目")))
        if value is None:
            continue
        if not isinstance(value, bool):
            raise ValidationError(FieldError(known[key], N_("请选择是或否")))
        out[key] = value
    return out
