"""The periodic report's titles and headings: (French, Arabic) pairs."""

from __future__ import annotations

#: The title of each table, by the dimension it groups by.
TITLES = {
    "agency": ("Par agence", "حسب الوكالة"),
    "wilaya": ("Par wilaya", "حسب الولاية"),
    "provider": ("Par administration", "حسب الإدارة"),
}
#: The heading of each table's key column.
KEY_HEADINGS = {
    "agency": ("agence", "الوكالة"),
    "wilaya": ("wilaya", "الولاية"),
    "provider": ("administration", "الإدارة"),
}
#: The headings of the other columns, in order.
HEADINGS = (
    ("nom", "الاسم"),
    ("volume", "الحجم"),
    ("délivrés", "صادرة"),
    ("introuvables", "غير موجودة"),
    ("refusés", "مرفوضة"),
    ("échecs", "فاشلة"),
    ("soumis au délai", "خاضعة للأجل"),
    ("dans le délai", "ضمن الأجل"),
    ("% dans le délai", "نسبة الالتزام بالأجل"),
    ("p95 (ms)", "المئين 95 (ms)"),
    ("causes d'échec", "أسباب الفشل"),
)
REPORT = ("Rapport périodique", "التقرير الدوري")
PERIOD = ("Période", "الفترة")
GENERATED = ("Généré le", "تاريخ الإنشاء")
VOLUME = ("Volume", "الحجم")
WITHIN_SLA = ("% dans le délai", "نسبة الالتزام بالأجل")
P95 = ("p95 (ms)", "المئين 95 (ms)")
CHECKPOINTS = ("Points de contrôle scellés du journal d'audit", "نقاط التحقق المختومة لسجل التدقيق")
