"""Coded complications (DOMAIN.md (d)): ELSO patient and mechanical groups plus process adverse events.

Each code carries its display group, a Chinese label, whether it retires a device (mechanical
codes are a device's stop reason), the QC report bucket, and whether it is an adverse event by
default (R9: reported to QC; the recorder may still flag any complication as one).
"""

from __future__ import annotations

from dataclasses import dataclass

from ecmo_desktop.i18n import N_


@dataclass(frozen=True)
class ComplicationCode:
    code: str
    group: str  # msgid of the display group
    label: str  # msgid
    english: str
    qc_group: str  # bucket for complication rates in the QC report
    retires_device: bool = False
    adverse_event: bool = False  # default of the R9 flag
    needs_text: bool = False  # "other" codes need a description


MECH, BLEED, THROMB, NEURO = N_("机械并发症"), N_("出血"), N_("血栓"), N_("神经系统")
LIMB, RENAL, CARDIO, PULM = N_("肢体/血管"), N_("肾脏"), N_("心血管"), N_("肺部")
INFECT, METAB, ADVERSE, OTHER = N_("感染"), N_("代谢"), N_("不良事件"), N_("其他")


def _m(code: str, label: str, english: str, *, adverse: bool = False) -> ComplicationCode:
    return ComplicationCode(
        code, MECH, label, english, "mechanical", retires_device=True, adverse_event=adverse
    )


def _p(
    code: str, group: str, label: str, english: str, qc: str, *, adverse: bool = False, text: bool = False
) -> ComplicationCode:
    return ComplicationCode(code, group, label, english, qc, adverse_event=adverse, needs_text=text)


COMPLICATION_LIST: tuple[ComplicationCode, ...] = (
    _m("M-OXY", N_("氧合器功能障碍"), "oxygenator failure"),
    _m("M-PUMP", N_("泵故障"), "pump or console failure", adverse=True),
    _m("M-CLOT", N_("管路/氧合器血栓"), "clot in circuit component"),
    _m("M-AIR", N_("管路进气/空气栓塞"), "air in circuit / air embolism", adverse=True),
    _m("M-RUPT", N_("管路破裂"), "tubing or raceway rupture", adverse=True),
    _m("M-HEAT", N_("变温水箱故障"), "heat-exchanger failure"),
    _m("M-CANN", N_("插管问题（移位、打折、脱出）"), "cannula problem: malposition, kink, dislodgement"),
    _m("M-OBST", N_("引流不畅/抖管"), "acute obstruction, chatter"),
    _m("M-RECIRC", N_("再循环需处理"), "recirculation needing intervention"),
    _m("M-HF", N_("血滤器凝血"), "clots in a hemofilter on the circuit"),
    _p("B-CANN", BLEED, N_("插管部位出血"), "cannulation-site bleeding", "bleeding"),
    _p("B-SURG", BLEED, N_("手术部位出血"), "surgical-site bleeding", "bleeding"),
    _p("B-GI", BLEED, N_("消化道出血"), "GI haemorrhage", "bleeding"),
    _p("B-PULM", BLEED, N_("肺出血"), "pulmonary haemorrhage", "bleeding"),
    _p("B-RETRO", BLEED, N_("腹膜后出血"), "retroperitoneal bleeding", "bleeding"),
    _p("B-THOR", BLEED, N_("血胸/心包填塞"), "haemothorax or tamponade", "bleeding"),
    _p("B-DIC", BLEED, N_("弥散性血管内凝血"), "DIC", "bleeding"),
    _p(
        "B-HEMOLYSIS", BLEED, N_("溶血（游离血红蛋白>500 mg/L）"), "haemolysis (pfHb >50 mg/dL)", "haemolysis"
    ),
    _p("B-HIT", BLEED, N_("肝素诱导的血小板减少症"), "HIT (confirmed)", "bleeding"),
    _p("T-DVT", THROMB, N_("深静脉血栓"), "DVT", "thrombosis"),
    _p("T-ART", THROMB, N_("动脉血栓栓塞"), "arterial thromboembolism", "thrombosis"),
    _p("T-LV", THROMB, N_("左室/主动脉根部血栓"), "LV or aortic-root thrombus", "thrombosis"),
    _p("N-STROKE", NEURO, N_("缺血性脑卒中"), "ischaemic stroke / CNS infarction", "neurological"),
    _p("N-ICH", NEURO, N_("颅内出血"), "intracranial haemorrhage", "neurological"),
    _p("N-SEIZURE", NEURO, N_("癫痫发作"), "seizures", "neurological"),
    _p("N-HYPOXIC", NEURO, N_("弥漫性缺血缺氧性脑损伤"), "diffuse hypoxic-ischaemic injury", "neurological"),
    _p("N-BRAINDEATH", NEURO, N_("脑死亡"), "brain death", "neurological"),
    _p("N-SURG", NEURO, N_("需神经外科干预"), "neurosurgical intervention", "neurological"),
    _p("L-ISCH", LIMB, N_("肢体缺血"), "limb ischaemia", "limb"),
    _p("L-COMP", LIMB, N_("骨筋膜室综合征/切开减压"), "compartment syndrome / fasciotomy", "limb"),
    _p("L-AMP", LIMB, N_("截肢"), "amputation", "limb"),
    _p("L-DISS", LIMB, N_("血管夹层或穿孔"), "vessel dissection or perforation", "limb"),
    _p("L-PSEUDO", LIMB, N_("假性动脉瘤"), "pseudoaneurysm", "limb"),
    _p("L-DIFFHYPOX", LIMB, N_("差异性低氧（南北综合征）"), "differential hypoxaemia (VA)", "limb"),
    _p("R-AKI", RENAL, N_("急性肾损伤"), "AKI (KDIGO 1–3)", "renal"),
    _p("R-CRRT", RENAL, N_("急性肾损伤需 CRRT"), "AKI requiring RRT/CRRT", "renal"),
    _p("C-ARREST", CARDIO, N_("ECMO 期间心脏骤停"), "cardiac arrest on ECMO", "cardiovascular", adverse=True),
    _p("C-ARRHYTHMIA", CARDIO, N_("需处理的心律失常"), "arrhythmia needing treatment", "cardiovascular"),
    _p("C-LVDIST", CARDIO, N_("左室扩张需减压"), "LV distension needing venting", "cardiovascular"),
    _p("C-TAMP", CARDIO, N_("心包填塞"), "tamponade", "cardiovascular"),
    _p("C-STUN", CARDIO, N_("心肌顿抑"), "myocardial stun", "cardiovascular"),
    _p("C-HTN", CARDIO, N_("高血压需血管扩张剂"), "hypertension needing vasodilators", "cardiovascular"),
    _p("P-PTX", PULM, N_("气胸需引流"), "pneumothorax needing drainage", "pulmonary"),
    _p("P-OEDEMA", PULM, N_("肺水肿"), "pulmonary oedema", "pulmonary"),
    _p("I-BSI", INFECT, N_("血流感染（培养证实）"), "culture-proven bloodstream infection", "infection"),
    _p("I-VAP", INFECT, N_("呼吸机相关肺炎"), "VAP", "infection"),
    _p("I-SITE", INFECT, N_("插管部位感染"), "cannula-site infection", "infection"),
    _p("I-UTI", INFECT, N_("尿路感染"), "UTI", "infection"),
    _p("I-OTHER", INFECT, N_("其他感染"), "other infection", "infection", text=True),
    _p("X-GLU", METAB, N_("血糖异常（<2.2 或 >13.3 mmol/L）"), "glucose <2.2 or >13.3 mmol/L", "metabolic"),
    _p("X-PH", METAB, N_("pH 异常（<7.20 或 >7.60）"), "pH <7.20 or >7.60", "metabolic"),
    _p(
        "X-LIVER",
        METAB,
        N_("高胆红素血症/急性肝损伤"),
        "hyperbilirubinaemia / acute liver injury",
        "metabolic",
    ),
    _p("A-DECANN", ADVERSE, N_("意外脱管"), "accidental decannulation", "adverse_event", adverse=True),
    _p(
        "A-DEVICE",
        ADVERSE,
        N_("器械误用（错误器械绑定）"),
        "wrong device bound",
        "adverse_event",
        adverse=True,
    ),
    _p(
        "A-POWER", ADVERSE, N_("断电或气源故障"), "power or gas-supply failure", "adverse_event", adverse=True
    ),
    _p("A-TRANSPORT", ADVERSE, N_("转运意外"), "transport incident", "adverse_event", adverse=True),
    _p("O-OTHER", OTHER, N_("其他并发症"), "other", "other", text=True),
)

COMPLICATIONS: dict[str, ComplicationCode] = {c.code: c for c in COMPLICATION_LIST}
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(c.group for c in COMPLICATION_LIST))


def by_group() -> list[tuple[str, list[ComplicationCode]]]:
    """Codes grouped for a two-level picker, in catalogue order."""
    return [(g, [c for c in COMPLICATION_LIST if c.group == g]) for g in GROUPS]
