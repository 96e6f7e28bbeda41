"""The operators' pages in French and Arabic: every label, and the language a request asks for."""

from __future__ import annotations

from aiohttp import web

LANGS = ("fr", "ar")
LANG_COOKIE = "gw_lang"

TEXT: dict[str, tuple[str, str]] = {
    "gateway": ("Passerelle d'échange inter-administrations", "بوابة التبادل بين الإدارات"),
    "dashboard": ("Tableau de bord", "لوحة القيادة"),
    "login_title": ("Connexion des opérateurs", "دخول المشغّلين"),
    "username": ("Utilisateur", "اسم المستخدم"),
    "password": ("Mot de passe", "كلمة المرور"),
    "login": ("Se connecter", "تسجيل الدخول"),
    "logout": ("Se déconnecter", "تسجيل الخروج"),
    "bad_credentials": ("Identifiants incorrects.", "بيانات الدخول غير صحيحة."),
    "operator": ("Opérateur", "المشغّل"),
    "readiness": ("Disponibilité", "الجاهزية"),
    "last_hour": ("Dernière heure", "الساعة الأخيرة"),
    "last_day": ("Dernières 24 heures", "آخر 24 ساعة"),
    "window": ("Période", "الفترة"),
    "volume": ("Volume", "الحجم"),
    "issued": ("délivrés", "صادرة"),
    "not-found": ("introuvables", "غير موجودة"),
    "refused": ("refusés", "مرفوضة"),
    "failed": ("échoués", "فاشلة"),
    "p50": ("p50", "p50"),
    "p95": ("p95", "p95"),
    "p99": ("p99", "p99"),
    "latency": ("Latence (ms, au plus)", "زمن الاستجابة (م.ث، على الأكثر)"),
    "sla": ("Dans les délais", "ضمن الآجال"),
    "main_cause": ("Première cause d'échec", "السبب الأول للفشل"),
    "by_provider": ("Par administration", "حسب الإدارة"),
    "by_document_type": ("Par type de document", "حسب نوع الوثيقة"),
    "by_wilaya": ("Par wilaya", "حسب الولاية"),
    "by_agency": ("Par agence", "حسب الوكالة"),
    "trend_hour": ("Tendance de la dernière heure (par minute)", "اتجاه الساعة الأخيرة (بالدقيقة)"),
    "trend_day": ("Tendance des dernières 24 heures (par heure)", "اتجاه آخر 24 ساعة (بالساعة)"),
    "queues": ("Files", "الطوابير"),
    "queue": ("file", "الطابور"),
    "messages": ("messages", "الرسائل"),
    "consumers": ("consommateurs", "المستهلكون"),
    "absent": ("absente", "غير موجود"),
    "breakers": ("Disjoncteurs des administrations (vus par ce processus)", "قواطع الإدارات (كما يراها هذا المسار)"),
    "provider": ("administration", "الإدارة"),
    "state": ("état", "الحالة"),
    "closed": ("fermé", "مغلق"),
    "open": ("ouvert", "مفتوح"),
    "half-open": ("semi-ouvert", "نصف مفتوح"),
    "no_data": ("Aucune donnée sur la période.", "لا توجد بيانات خلال هذه الفترة."),
    "total": ("Total", "المجموع"),
    "dead_letters": ("Lettres mortes", "الرسائل الميتة"),
    "lookup": ("Recherche d'une demande", "البحث عن طلب"),
    "lookup_field": ("Identifiant de demande ou d'attestation", "معرّف الطلب أو الشهادة"),
    "search": ("Rechercher", "بحث"),
    "not_found_id": ("Aucune demande ni attestation sous cet identifiant.", "لا يوجد طلب ولا شهادة بهذا المعرّف."),
    "bad_id": ("Un identifiant est un UUID (8-4-4-4-12 chiffres hexadécimaux).",
               "المعرّف من نوع UUID (8-4-4-4-12 رقمًا ست عشريًا)."),
    "journey": ("Parcours", "المسار"),
    "stage": ("étape", "المرحلة"),
    "duration": ("durée (ms)", "المدة (م.ث)"),
    "at": ("reçue le", "تاريخ الاستلام"),
    "transport": ("transport", "النقل"),
    "document_type": ("type", "النوع"),
    "agency": ("agence", "الوكالة"),
    "status": ("statut", "الحالة"),
    "problem": ("problème", "المشكلة"),
    "journal": ("Journal d'audit", "سجل التدقيق"),
    "attestation": ("Attestation", "الشهادة"),
    "reason": ("motif", "السبب"),
    "message_id": ("identifiant", "المعرّف"),
    "reply_to": ("réponse à", "الرد إلى"),
    "size": ("taille", "الحجم"),
    "fingerprint": ("empreinte", "البصمة"),
    "dead_at": ("arrivée", "الوصول"),
    "replay": ("Rejouer", "إعادة الإرسال"),
    "replay_all": ("Rejouer tout", "إعادة إرسال الكل"),
    "purge": ("Purger…", "تفريغ…"),
    "purge_confirm": ("Supprimer définitivement ces {n} messages de {queue} ?",
                      "حذف هذه الرسائل ({n}) من {queue} نهائيًا؟"),
    "confirm": ("Confirmer la purge", "تأكيد التفريغ"),
    "cancel": ("Annuler", "إلغاء"),
    "dead_empty": ("La file est vide.", "الطابور فارغ."),
    "dead_count": ("{shown} affichés sur {total} messages.", "معروضة {shown} من أصل {total} رسالة."),
    "replayed": ("{n} message(s) rejoué(s).", "أُعيد إرسال {n} رسالة."),
    "purged": ("{n} message(s) purgé(s).", "حُذفت {n} رسالة."),
    "purge_mismatch": ("La file a changé depuis l'affichage : rien n'a été purgé.",
                       "تغيّر الطابور منذ العرض: لم يُحذف شيء."),
    "stage_intake": ("réception", "الاستلام"),
    "stage_verify": ("signature", "التحقق من التوقيع"),
    "stage_validate": ("schéma", "المخطط"),
    "stage_admit": ("admission", "القبول"),
    "stage_duplicates": ("doublons", "التكرار"),
    "stage_recover": ("reprise", "الاسترجاع"),
    "stage_route": ("administration", "الإدارة المعنية"),
    "stage_attest": ("scellement", "الختم"),
    "stage_seal": ("refus scellé", "ختم الرفض"),
    "switch": ("العربية", "Français"),
}


def lang_of(request: web.Request) -> str:
    """`?lang=` first, then the cookie it set, then French."""
    for value in (request.query.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value in LANGS:
            return value
    return "fr"


def t(lang: str, key: str, **values: object) -> str:
    """The label `key` in `lang`, with `{placeholders}` filled; an unknown key is shown as it is."""
    pair = TEXT.get(key)
    text = key if pair is None else pair[1] if lang == "ar" else pair[0]
    return text.format(**values) if values else text
