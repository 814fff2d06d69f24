"""Signing, amending and the version history of a record (SIG-1 … SIG-3).

Signing asks for the password again and shows what the signature means (书写/审阅/确认/审批); a
signed record is read-only, shown with a padlock and "已由 X 于 T 签名（含义）". A mistake in a
signed record is corrected only by an amendment that states its reason: the record's own editor
opens in amend mode (``RecordDialog(amend=True)``), and the old content stays readable here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ecmo_desktop.domain.enums import DecisionKind, SignatureMeaning
from ecmo_desktop.domain.errors import AccountLocked, AuthenticationFailed
from ecmo_desktop.domain.records import AnyRecord, Decision, RecordVersion, Signature, content_hash
from ecmo_desktop.domain.rules import emergency_decider, joint_decision
from ecmo_desktop.i18n import N_, _
from ecmo_desktop.ui.models.list_model import Column, ListTableModel
from ecmo_desktop.ui.records.case_data import CaseRecords
from ecmo_desktop.ui.records.display import (
    GREEN,
    RED,
    content_lines,
    esc,
    label_of,
    lines_html,
    local_time,
    record_title,
    signature_text,
    staff_name,
    title_text,
)
from ecmo_desktop.ui.records.forms import ChoiceCombo, RecordDialog, wide_label
from ecmo_desktop.ui.widgets.fit import ScreenFit
from ecmo_desktop.ui.widgets.table import make_table, set_column_widths

PASSWORD_FIELD = N_("密码")
MIN_WIDTH = 440
MEANING_HELP = {
    SignatureMeaning.AUTHOR.value: N_("书写：本人书写此记录，对内容负责"),
    SignatureMeaning.REVIEW.value: N_("审阅：审阅他人书写的记录"),
    SignatureMeaning.CONFIRM.value: N_("确认：确认记录内容与实际情况相符"),
    SignatureMeaning.APPROVE.value: N_("审批：作为上级医师审批此记录"),
}


def decision_verdict(record: Decision) -> tuple[bool, str] | None:
    """What signing will check for a decision (R1 for joint decisions, R2 for an emergency start)."""
    if record.emergency and record.kind == DecisionKind.START.value:
        result = emergency_decider(record.physicians)
    elif record.emergency:
        return None
    else:
        result = joint_decision(record.physicians)
    return result.passed, f"[{result.rule}] {result.text()}"


class SignDialog(RecordDialog):
    """Sign with the password re-entered; the record locks (SIG-1/SIG-2)."""

    entity = "sign"
    confirm_discard = False  # only a password (never kept) and the meaning: nothing to lose

    def __init__(self, case: CaseRecords, record: AnyRecord, parent: QWidget | None = None) -> None:
        super().__init__(case, _("签名"), parent, record=record, ok_text=_("签名"))
        self.setObjectName("sign_dialog")
        self.target = record
        user = case.user
        self.set_intro(
            _(
                "签名即确认以下记录的内容。签名后记录锁定，不能直接修改；如需更正，须说明原因，"
                "原内容保留在历史版本中。"
            )
        )
        # What is signed stays in full view above the scrolling form, wrapped at any width: the
        # dialog cannot be made so small that the record's name is cut off or scrolled away.
        self.what = QLabel()
        self.what.setObjectName("sign_record")
        self.what.setWordWrap(True)
        self.what.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.what.setStyleSheet("font-weight: bold;")
        target = QGroupBox(_("记录"))
        QVBoxLayout(target).addWidget(self.what)
        outer = self.layout()
        assert isinstance(outer, QVBoxLayout)
        outer.insertWidget(outer.indexOf(self.intro) + 1, target)
        self.setMinimumWidth(MIN_WIDTH)
        form = self.section()
        me = case.staff_by_id(user.id) if user else None
        signer = QLabel(f"{user.full_name if user else '—'}" + (f"（{title_text(me.title)}）" if me else ""))
        form.addRow(_("签名人"), signer)
        self.meaning = ChoiceCombo.of_enum(SignatureMeaning, blank=None)
        self.meaning.setObjectName("sign_meaning")
        own = user is not None and record.created_by_id == user.id
        self.meaning.set_value(SignatureMeaning.AUTHOR.value if own else SignatureMeaning.REVIEW.value)
        self.add_row(form, N_("签名含义"), self.meaning)
        self.meaning_help = wide_label()
        self.meaning_help.setStyleSheet("color: #555;")
        form.addRow("", self.meaning_help)
        self.meaning.currentIndexChanged.connect(self._explain)
        self.verdict = wide_label(name="sign_verdict")
        self.verdict.hide()
        form.addRow("", self.verdict)
        self.password = QLineEdit()
        self.password.setObjectName("sign_password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(_("请再次输入您的登录密码"))
        self.add_row(form, PASSWORD_FIELD, self.password)
        self.fill(record)
        self._explain()
        self.scroll_area.setMinimumHeight(self.content.sizeHint().height())
        self.password.setFocus()

    def _explain(self) -> None:
        self.meaning_help.setText(_(MEANING_HELP.get(self.meaning.value() or "", "")))

    def fill(self, record: AnyRecord) -> None:
        self.target = record
        self.what.setText(record_title(record))
        # Reserve the height the wrapped texts need at the narrowest the dialog can be (labels are at
        # least MIN_WIDTH - 80 wide), and the whole short form: shrinking never hides what is signed.
        for label in (self.intro, self.what):
            label.setMinimumHeight(label.heightForWidth(MIN_WIDTH - 80))
        verdict = decision_verdict(record) if isinstance(record, Decision) else None
        if verdict is not None:
            passed, text = verdict
            self.verdict.setText(text if passed else _("{text}——不符合要求的决策不能签名").format(text=text))
            self.verdict.setStyleSheet(f"color: {GREEN if passed else RED};")
            self.verdict.show()

    def build(self) -> Callable[[], Any]:
        records = self.case.services.records
        entity, record_id, version = self.target.entity, self.target.id, self.target.version
        shown = content_hash(self.target)  # the signature binds exactly what this dialog showed
        password, meaning = self.password.text(), self.meaning.value()
        return lambda: records.sign(
            entity, record_id, password, meaning=meaning, expected_version=version, shown_hash=shown
        )

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, (AuthenticationFailed, AccountLocked)):
            self.set_busy(False)
            self.clear_errors()
            label = self.message_for(PASSWORD_FIELD)
            assert label is not None
            label.setText(exc.user_message())
            label.show()
            self.password.clear()
            self.password.setFocus()
            return
        super()._failed(exc)


class HistoryDialog(ScreenFit, QDialog):
    """Every version of a record and every signature it ever had (superseded ones included)."""

    def __init__(self, case: CaseRecords, record: AnyRecord, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.case = case
        self.record = record
        self.setObjectName("history_dialog")
        self.setWindowTitle(_("版本与签名历史"))
        self.setModal(True)
        layout = QVBoxLayout(self)
        self.heading = QLabel(f"<b>{esc(record_title(record))}</b><br>{esc(signature_text(record))}")
        self.heading.setWordWrap(True)
        layout.addWidget(self.heading)
        staff = case.staff
        self.versions: ListTableModel[RecordVersion] = ListTableModel(
            [
                Column(N_("版本"), lambda v: str(v.version)),
                Column(N_("被更正时间"), lambda v: local_time(v.replaced_at)),
                Column(N_("更正人"), lambda v: staff_name(staff, v.replaced_by_id)),
                Column(N_("更正原因"), lambda v: v.reason),
            ],
            key=lambda v: v.version,
            parent=self,
        )
        self.signatures: ListTableModel[Signature] = ListTableModel(
            [
                Column(N_("签名人"), lambda s: s.signer_name),
                Column(N_("签名时间"), lambda s: local_time(s.signed_at)),
                Column(N_("含义"), lambda s: label_of(SignatureMeaning, s.meaning)),
                Column(N_("记录版本"), lambda s: str(s.record_version)),
                Column(
                    N_("状态"),
                    lambda s: _("有效") if s.state == "valid" else _("已作废（记录已更正）"),
                    foreground=lambda s: GREEN if s.state == "valid" else "#757575",
                ),
                Column(N_("内容哈希"), lambda s: s.content_hash[:16] + "…"),
            ],
            key=lambda s: s.id,
            parent=self,
        )
        self.splitter = splitter = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        tcol = QVBoxLayout(top)
        tcol.setContentsMargins(0, 0, 0, 0)
        self.version_heading = QLabel(_("历史版本（更正前的内容）"))
        tcol.addWidget(self.version_heading)
        self.version_table = make_table(self.versions)
        self.version_table.setObjectName("version_table")
        set_column_widths(self.version_table, [5, 17, 10, 30])
        tcol.addWidget(self.version_table)
        self.version_text = QTextBrowser()
        self.version_text.setObjectName("version_text")
        tcol.addWidget(self.version_text)
        splitter.addWidget(top)
        bottom = QWidget()
        bcol = QVBoxLayout(bottom)
        bcol.setContentsMargins(0, 0, 0, 0)
        bcol.addWidget(QLabel(_("签名记录")))
        self.signature_table = make_table(self.signatures)
        self.signature_table.setObjectName("signature_table")
        set_column_widths(self.signature_table, [8, 17, 6, 8, 18])
        bcol.addWidget(self.signature_table)
        splitter.addWidget(bottom)
        layout.addWidget(splitter, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText(_("关闭"))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.version_table.selectionModel().currentRowChanged.connect(
            lambda cur, _prev: self._show(cur.row())
        )
        self.resize(820, 620)
        self.loaded = False
        records = case.services.records
        entity, record_id = record.entity, record.id
        case.ui.tasks.run_op(
            lambda: (records.versions(entity, record_id), records.signatures(entity, record_id)),
            self._loaded,
            parent=self,
        )

    def _loaded(self, result: tuple[Sequence[RecordVersion], Sequence[Signature]]) -> None:
        versions, signatures = result
        self.heading.setText(
            f"<b>{esc(record_title(self.record))}</b><br>{esc(signature_text(self.record, signatures))}"
        )
        self.versions.set_rows(versions)
        self.signatures.set_rows(signatures)
        self.loaded = True
        if versions:
            self.version_table.selectRow(len(versions) - 1)
            self._show(len(versions) - 1)
        else:
            self.version_heading.setText(_("历史版本：此记录未被更正过"))
            self.version_table.hide()
            self.version_text.hide()
            self.splitter.setSizes([self.version_heading.sizeHint().height() + 4, 1000])
            self.resize(self.width(), 340)

    def _show(self, row: int) -> None:
        version = self.versions.row(row)
        if version is None:
            return
        head = _("第 {v} 版：{at} 由 {name} 更正，原因：{reason}").format(
            v=version.version,
            at=local_time(version.replaced_at),
            name=staff_name(self.case.staff, version.replaced_by_id),
            reason=version.reason,
        )
        self.version_text.setHtml(
            f"<p><b>{esc(head)}</b></p>" + lines_html(content_lines(version.content, self.case.staff))
        )
