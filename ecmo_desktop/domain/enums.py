"""Coded vocabularies of the ECMO record, each value with a translatable Chinese label.

Values are stable ASCII codes (they are stored, exported and used in the QC report); labels are
msgids shown through ``_()``.
"""

from __future__ import annotations

from enum import StrEnum

from ecmo_desktop.i18n import N_, _


class Labelled(StrEnum):
    """A StrEnum whose members carry a label msgid in ``_labels``."""

    @property
    def label(self) -> str:
        return _(type(self)._label_ids().get(self.value, self.value))

    @classmethod
    def _label_ids(cls) -> dict[str, str]:
        return getattr(cls, "_LABELS", {})

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(value, translated label) pairs in declaration order, for combo boxes."""
        return [(m.value, m.label) for m in cls]


def _labels(cls: type[Labelled], mapping: dict[str, str]) -> None:
    cls._LABELS = mapping  # type: ignore[attr-defined]


class Role(Labelled):
    DOCTOR = "doctor"
    NURSE = "nurse"
    PERFUSIONIST = "perfusionist"
    RECORDS = "records"
    ADMIN = "admin"


_labels(
    Role,
    {
        "doctor": N_("医生"),
        "nurse": N_("护士"),
        "perfusionist": N_("体外循环师"),
        "records": N_("病案室"),
        "admin": N_("管理员"),
    },
)


class Title(Labelled):
    """Professional title; order matters (R2/R12/R13 compare ranks)."""

    RESIDENT = "resident"
    ATTENDING = "attending"
    ASSOCIATE_CHIEF = "associate_chief"
    CHIEF = "chief"
    NURSE = "nurse"
    NURSE_SENIOR = "nurse_senior"
    NURSE_ASSOCIATE_CHIEF = "nurse_associate_chief"
    NURSE_CHIEF = "nurse_chief"
    TECHNICIAN = "technician"
    OTHER = "other"

    @property
    def is_physician(self) -> bool:
        return self in (Title.RESIDENT, Title.ATTENDING, Title.ASSOCIATE_CHIEF, Title.CHIEF)

    @property
    def is_associate_senior_or_higher(self) -> bool:
        """副高及以上 (R13 counts any professional series, R2/R12 need physicians)."""
        return self in (Title.ASSOCIATE_CHIEF, Title.CHIEF, Title.NURSE_ASSOCIATE_CHIEF, Title.NURSE_CHIEF)

    @property
    def is_attending_or_higher(self) -> bool:
        return self in (Title.ATTENDING, Title.ASSOCIATE_CHIEF, Title.CHIEF)


_labels(
    Title,
    {
        "resident": N_("住院医师"),
        "attending": N_("主治医师"),
        "associate_chief": N_("副主任医师"),
        "chief": N_("主任医师"),
        "nurse": N_("护士"),
        "nurse_senior": N_("主管护师"),
        "nurse_associate_chief": N_("副主任护师"),
        "nurse_chief": N_("主任护师"),
        "technician": N_("技师"),
        "other": N_("其他"),
    },
)


class Sex(Labelled):
    MALE = "M"
    FEMALE = "F"
    UNKNOWN = "U"


_labels(Sex, {"M": N_("男"), "F": N_("女"), "U": N_("未知")})


class Mode(Labelled):
    VA = "VA"
    VV = "VV"
    VAV = "VAV"
    VVA = "VVA"
    VV_VA = "VV-VA"
    V_PA = "V-PA"
    ECCO2R = "ECCO2R"
    OTHER = "other"


_labels(
    Mode,
    {
        "VA": "VA",
        "VV": "VV",
        "VAV": "VAV",
        "VVA": "VVA",
        "VV-VA": "VV-VA",
        "V-PA": "V-PA",
        "ECCO2R": "ECCO2R",
        "other": N_("其他"),
    },
)


class Indication(Labelled):
    AMI = "ami"
    MYOCARDITIS = "myocarditis"
    POSTCARDIOTOMY = "postcardiotomy"
    CARDIOGENIC_OTHER = "cardiogenic_other"
    CARDIAC_ARREST = "cardiac_arrest"
    ARDS = "ards"
    COVID19 = "covid19"
    PE = "pe"
    BRIDGE = "bridge"
    SEPSIS = "sepsis"
    OTHER = "other"


_labels(
    Indication,
    {
        "ami": N_("急性心肌梗死合并心源性休克"),
        "myocarditis": N_("暴发性心肌炎"),
        "postcardiotomy": N_("心脏术后心源性休克"),
        "cardiogenic_other": N_("其他心源性休克"),
        "cardiac_arrest": N_("心脏骤停/ECPR"),
        "ards": N_("重症ARDS（肺炎）"),
        "covid19": N_("新型冠状病毒感染"),
        "pe": N_("肺栓塞"),
        "bridge": N_("移植/VAD过渡"),
        "sepsis": N_("脓毒症"),
        "other": N_("其他"),
    },
)


class RunStatus(Labelled):
    PLANNED = "planned"  # decided, not yet on flow
    ON_ECMO = "on_ecmo"
    ENDED = "ended"  # off ECMO (any reason); follow-up continues
    CANCELLED = "cancelled"  # decided but never started


_labels(
    RunStatus,
    {"planned": N_("待上机"), "on_ecmo": N_("ECMO运行中"), "ended": N_("已撤机"), "cancelled": N_("已取消")},
)


class EndReason(Labelled):
    WEANED = "weaned"
    DIED = "died"
    WITHDRAWN = "withdrawn"
    BRIDGED = "bridged"
    TRANSFERRED = "transferred"
    COMPLICATION = "complication"


_labels(
    EndReason,
    {
        "weaned": N_("成功撤机"),
        "died": N_("ECMO期间死亡"),
        "withdrawn": N_("撤除（预后不良/放弃）"),
        "bridged": N_("过渡（VAD/移植）"),
        "transferred": N_("带机转院"),
        "complication": N_("因并发症撤除"),
    },
)


class DecisionKind(Labelled):
    START = "start"
    WEAN = "wean"


_labels(DecisionKind, {"start": N_("上机决策"), "wean": N_("撤机决策")})


class DeciderRole(Labelled):
    ATTENDING = "attending"  # 经治医师
    EXPERT = "expert"  # 专家组成员
    OTHER = "other"


_labels(DeciderRole, {"attending": N_("经治医师"), "expert": N_("专家组成员"), "other": N_("其他医师")})


class ProcedureKind(Labelled):
    CANNULATION = "cannulation"
    CIRCUIT_CHANGE = "circuit_change"
    MODE_CHANGE = "mode_change"
    DECANNULATION = "decannulation"


_labels(
    ProcedureKind,
    {
        "cannulation": N_("置管上机"),
        "circuit_change": N_("更换管路/氧合器"),
        "mode_change": N_("模式转换"),
        "decannulation": N_("撤机拔管"),
    },
)


class Location(Labelled):
    ICU = "icu"
    CCU = "ccu"
    OR = "or"
    CATH_LAB = "cath_lab"
    ED = "ed"
    WARD = "ward"
    OUTSIDE = "outside"


_labels(
    Location,
    {
        "icu": "ICU",
        "ccu": "CCU",
        "or": N_("手术室"),
        "cath_lab": N_("导管室"),
        "ed": N_("急诊"),
        "ward": N_("病房"),
        "outside": N_("院外"),
    },
)


class Technique(Labelled):
    PERCUTANEOUS = "percutaneous"
    CUTDOWN = "cutdown"
    HYBRID = "hybrid"
    CENTRAL = "central"


_labels(
    Technique,
    {
        "percutaneous": N_("经皮穿刺（Seldinger）"),
        "cutdown": N_("外科切开"),
        "hybrid": N_("半切开（杂交）"),
        "central": N_("中心插管（开胸）"),
    },
)


class Guidance(Labelled):
    ULTRASOUND = "ultrasound"
    FLUOROSCOPY = "fluoroscopy"
    ECHO = "echo"
    NONE = "none"


_labels(
    Guidance,
    {"ultrasound": N_("超声引导"), "fluoroscopy": N_("透视引导"), "echo": N_("TEE/TTE"), "none": N_("无")},
)


class CannulaRole(Labelled):
    DRAINAGE = "drainage"
    RETURN = "return"
    DISTAL_PERFUSION = "distal_perfusion"
    DUAL_LUMEN = "dual_lumen"
    VENT = "vent"
    ADDITIONAL = "additional"


_labels(
    CannulaRole,
    {
        "drainage": N_("引流管"),
        "return": N_("回输管"),
        "distal_perfusion": N_("远端灌注管"),
        "dual_lumen": N_("双腔管"),
        "vent": N_("左心减压管"),
        "additional": N_("附加插管"),
    },
)


class Vessel(Labelled):
    FEMORAL_VEIN = "femoral_vein"
    FEMORAL_ARTERY = "femoral_artery"
    INTERNAL_JUGULAR = "internal_jugular"
    SUBCLAVIAN_AXILLARY = "subclavian_axillary"
    CAROTID = "carotid"
    RIGHT_ATRIUM = "right_atrium"
    AORTA = "aorta"
    PULMONARY_ARTERY = "pulmonary_artery"
    LEFT_HEART = "left_heart"
    SUPERFICIAL_FEMORAL = "superficial_femoral"


_labels(
    Vessel,
    {
        "femoral_vein": N_("股静脉"),
        "femoral_artery": N_("股动脉"),
        "internal_jugular": N_("颈内静脉"),
        "subclavian_axillary": N_("锁骨下/腋动脉"),
        "carotid": N_("颈动脉"),
        "right_atrium": N_("右心房"),
        "aorta": N_("主动脉"),
        "pulmonary_artery": N_("肺动脉"),
        "left_heart": N_("左房/左室"),
        "superficial_femoral": N_("股浅动脉"),
    },
)


class Side(Labelled):
    LEFT = "L"
    RIGHT = "R"
    NA = "NA"


_labels(Side, {"L": N_("左"), "R": N_("右"), "NA": N_("不适用")})


class StaffRoleInProcedure(Labelled):
    OPERATOR = "operator"
    ASSISTANT = "assistant"
    PERFUSIONIST = "perfusionist"
    NURSE = "nurse"
    ANAESTHESIA = "anaesthesia"


_labels(
    StaffRoleInProcedure,
    {
        "operator": N_("术者"),
        "assistant": N_("助手"),
        "perfusionist": N_("体外循环师"),
        "nurse": N_("ECMO护士"),
        "anaesthesia": N_("麻醉/镇静"),
    },
)


class RecordStatus(Labelled):
    DRAFT = "draft"
    SIGNED = "signed"


_labels(RecordStatus, {"draft": N_("未签名"), "signed": N_("已签名")})


class SignatureMeaning(Labelled):
    AUTHOR = "author"  # 书写
    REVIEW = "review"  # 审阅
    CONFIRM = "confirm"  # 确认
    APPROVE = "approve"  # 审批


_labels(
    SignatureMeaning,
    {"author": N_("书写"), "review": N_("审阅"), "confirm": N_("确认"), "approve": N_("审批")},
)


class FollowUpKind(Labelled):
    D28 = "d28"
    DISCHARGE = "discharge"
    D90 = "d90"
    D180 = "d180"
    Y1 = "y1"


_labels(
    FollowUpKind,
    {"d28": N_("28天"), "discharge": N_("出院"), "d90": N_("90天"), "d180": N_("180天"), "y1": N_("1年")},
)


class FollowUpStatus(Labelled):
    DUE = "due"
    DONE = "done"
    LOST = "lost"


_labels(FollowUpStatus, {"due": N_("待随访"), "done": N_("已完成"), "lost": N_("失访")})


class VitalStatus(Labelled):
    ALIVE = "alive"
    DEAD = "dead"
    UNKNOWN = "unknown"


_labels(VitalStatus, {"alive": N_("存活"), "dead": N_("死亡"), "unknown": N_("未知")})


class DischargeDisposition(Labelled):
    HOME = "home"
    OTHER_HOSPITAL = "other_hospital"
    REHAB = "rehab"
    HOSPICE = "hospice"
    AGAINST_ADVICE = "against_advice"  # 自动出院/放弃治疗: its own category (DOMAIN.md decision)
    DIED = "died"
    UNKNOWN = "unknown"


_labels(
    DischargeDisposition,
    {
        "home": N_("回家"),
        "other_hospital": N_("转他院"),
        "rehab": N_("康复/长期护理机构"),
        "hospice": N_("安宁疗护"),
        "against_advice": N_("自动出院/放弃治疗"),
        "died": N_("院内死亡"),
        "unknown": N_("未知"),
    },
)


class DeviceCategory(Labelled):
    OXYGENATOR = "oxygenator"
    PUMP_HEAD = "pump_head"
    TUBING_PACK = "tubing_pack"
    DRAINAGE_CANNULA = "drainage_cannula"
    RETURN_CANNULA = "return_cannula"
    DISTAL_PERFUSION_CANNULA = "distal_perfusion_cannula"
    CONNECTOR = "connector"
    OTHER = "other"


_labels(
    DeviceCategory,
    {
        "oxygenator": N_("氧合器"),
        "pump_head": N_("离心泵头"),
        "tubing_pack": N_("管路套包"),
        "drainage_cannula": N_("引流插管"),
        "return_cannula": N_("回输插管"),
        "distal_perfusion_cannula": N_("远端灌注插管"),
        "connector": N_("接头"),
        "other": N_("其他"),
    },
)


class EquipmentKind(Labelled):
    CONSOLE = "console"
    HEATER_COOLER = "heater_cooler"
    OTHER = "other"


_labels(EquipmentKind, {"console": N_("ECMO主机"), "heater_cooler": N_("变温水箱"), "other": N_("其他设备")})


class Severity(Labelled):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"
    LIFE_THREATENING = "life_threatening"


_labels(
    Severity,
    {"mild": N_("轻度"), "moderate": N_("中度"), "severe": N_("重度"), "life_threatening": N_("危及生命")},
)
