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
FORESIGHT = ("Prévision et vigilance", "الاستشراف واليقظة")
ALERTS_RAISED = ("Alertes d'usage suspect levées dans la période", "تنبيهات الاستعمال المشبوه خلال الفترة")
ALERT_HEADINGS = (
    ("levée le", "أُطلق في"),
    ("agent", "العون"),
    ("agence", "الوكالة"),
    ("nature", "النوع"),
    ("motif", "السبب"),
    ("suite", "المآل"),
)
ALERT_STATES = {
    "open": ("ouverte", "مفتوح"),
    "acknowledged": ("confirmée", "مؤكَّد"),
    "dismissed": ("écartée", "مستبعَد"),
}
NO_ALERTS = ("Aucune alerte dans la période.", "لا توجد تنبيهات خلال الفترة.")
LOAD_FORECAST = ("Prévision de la charge et réalité", "توقّع الحِمل والواقع")
FORECAST_FACTS = (
    ("séries prévues", "السلاسل المتوقَّعة"),
    ("erreur rapportée à la prévision naïve saisonnière", "الخطأ نسبةً إلى التوقّع الساذج الموسمي"),
    ("réalité dans l'intervalle à 80 %", "الواقع ضمن مجال 80 %"),
    ("réalité dans l'intervalle à 95 %", "الواقع ضمن مجال 95 %"),
)
NO_FORECAST = (
    "Historique insuffisant avant la période (quatre semaines au moins) : pas de prévision à comparer.",
    "سجل غير كافٍ قبل الفترة (أربعة أسابيع على الأقل): لا توقّع للمقارنة.",
)
