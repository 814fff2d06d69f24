"""Qt's own texts that ``qtbase_zh_CN`` leaves in English (the file dialog's 查找范围 and 文件类型,
some message-box buttons, parts of the print dialog), in Chinese.

Installed after Qt's catalogue, so it is asked first; it answers only for what it knows.
"""

from __future__ import annotations

from PySide6.QtCore import QTranslator

GAPS_ZH: dict[tuple[str, str], str] = {
    ("QFileDialog", "&Look in:"): "查找范围(&L)：",
    ("QFileDialog", "Files of &type:"): "文件类型(&T)：",
    ("QFileDialog", "Computer"): "计算机",
    ("QPlatformTheme", "Don't Save"): "不保存",
    ("QPlatformTheme", "No to A&ll"): "全部否(&L)",
    ("QPlatformTheme", "Close without Saving"): "关闭且不保存",
    ("QPrintSettingsOutput", "Duplex Printing"): "双面打印",
    ("QPrintSettingsOutput", "None"): "无",
    ("QPrintSettingsOutput", "Long side"): "长边翻转",
    ("QPrintSettingsOutput", "Short side"): "短边翻转",
    ("QPrintDialog", "Automatic"): "自动",
    ("QUnixPrintWidget", "Print to File (PDF)"): "打印到文件（PDF）",
}


class QtGapsTranslator(QTranslator):
    """Answers Qt's own untranslated strings from ``GAPS_ZH``; anything else falls through."""

    def translate(
        self, context: str, source: str, disambiguation: str | None = None, n: int = -1
    ) -> str | None:
        return GAPS_ZH.get((context, source))  # None is a null string: Qt asks the next translator

    def isEmpty(self) -> bool:
        return False
