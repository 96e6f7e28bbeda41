"""The words of a printed attestation, in French and Arabic: each document type's title, each
field's label, and the words for coded values. A type or field not listed here prints its
code (a type added by a partner at run time, for instance)."""

from __future__ import annotations

#: (French, Arabic) for each document type.
TITLES: dict[str, tuple[str, str]] = {
    "birth-certificate": ("Extrait d'acte de naissance", "مستخرج من عقد الميلاد"),
    "family-record": ("Fiche familiale d'état civil", "البطاقة العائلية للحالة المدنية"),
    "death-record": ("Extrait d'acte de décès", "مستخرج من عقد الوفاة"),
    "residence-certificate": ("Certificat de résidence", "شهادة الإقامة"),
    "tax-status-certificate": ("Extrait de rôle — situation fiscale", "مستخرج الجدول — الوضعية الجبائية"),
    "tax-registration": ("Attestation d'immatriculation fiscale", "شهادة التسجيل الجبائي"),
    "commercial-register-extract": ("Extrait du registre du commerce", "مستخرج من السجل التجاري"),
    "affiliation-certificate": ("Attestation d'affiliation", "شهادة الانتساب"),
    "contribution-status-certificate": ("Attestation de mise à jour des cotisations", "شهادة تسوية وضعية الاشتراكات"),
}

#: (French, Arabic) for each printed field.
FIELDS: dict[str, tuple[str, str]] = {
    "lastNameAr": ("Nom (en arabe)", "اللقب"),
    "firstNameAr": ("Prénom (en arabe)", "الاسم"),
    "lastNameLatin": ("Nom", "اللقب بالحروف اللاتينية"),
    "firstNameLatin": ("Prénom", "الاسم بالحروف اللاتينية"),
    "birthDate": ("Date de naissance", "تاريخ الميلاد"),
    "birthCommune": ("Commune de naissance", "بلدية الميلاد"),
    "headOfFamily": ("Chef de famille", "رب الأسرة"),
    "deathRecorded": ("Décès enregistré", "وفاة مسجلة"),
    "deathDate": ("Date du décès", "تاريخ الوفاة"),
    "deathCommune": ("Commune du décès", "بلدية الوفاة"),
    "commune": ("Commune", "البلدية"),
    "wilaya": ("Wilaya", "الولاية"),
    "since": ("Résident depuis", "مقيم منذ"),
    "taxpayerName": ("Contribuable", "المكلف بالضريبة"),
    "situation": ("Situation", "الوضعية"),
    "periodFrom": ("Période du", "الفترة من"),
    "periodTo": ("au", "إلى"),
    "taxCentre": ("Centre des impôts", "مركز الضرائب"),
    "registrationDate": ("Date d'immatriculation", "تاريخ التسجيل"),
    "companyName": ("Raison sociale", "التسمية"),
    "legalForm": ("Forme juridique", "الشكل القانوني"),
    "status": ("Statut", "الحالة"),
    "affiliationNumber": ("N° d'immatriculation", "رقم الانتساب"),
    "employerName": ("Employeur", "الهيئة المستخدمة"),
    "employerNumber": ("N° employeur", "رقم المستخدم"),
    "upToDate": ("À jour de ses cotisations", "وضعية الاشتراكات مسواة"),
    "lastPeriodPaid": ("Dernière période payée", "آخر فترة مدفوعة"),
}

#: (French, Arabic) for coded values.
VALUES: dict[str, tuple[str, str]] = {
    "true": ("oui", "نعم"),
    "false": ("non", "لا"),
    "up-to-date": ("à jour", "مسواة"),
    "in-arrears": ("en retard de paiement", "متأخرة الدفع"),
    "active": ("en activité", "نشط"),
    "struck-off": ("radiée", "مشطوب"),
    "suspended": ("suspendue", "معلقة"),
    "retired": ("retraité", "متقاعد"),
    "M": ("masculin", "ذكر"),
    "F": ("féminin", "أنثى"),
}

#: (French, Arabic) for the rest of the page.
WORDS: dict[str, tuple[str, str]] = {
    "republic": ("République algérienne démocratique et populaire", "الجمهورية الجزائرية الديمقراطية الشعبية"),
    "issued_by": ("Délivré par", "صادرة عن"),
    "on_behalf_of": ("à la demande de", "بطلب من"),
    "purpose": ("Finalité", "الغرض"),
    "issued": ("Délivrée le", "تاريخ الإصدار"),
    "valid_until": ("Valable jusqu'au", "صالحة إلى غاية"),
    "attestation": ("Attestation n°", "رقم الشهادة"),
    "check_code": ("Code de vérification", "رمز التحقق"),
    "seal_note": (
        "Document électronique scellé par la passerelle d'échange inter-administrations. Il remplace "
        "le document papier. Le code QR se vérifie hors ligne ; le code de vérification, sur la page :",
        "وثيقة إلكترونية مختومة من طرف بوابة تبادل الوثائق بين الإدارات، وهي تعوض الوثيقة الورقية. "
        "يمكن التحقق من رمز الاستجابة السريعة دون اتصال، ومن رمز التحقق عبر الصفحة:",
    ),
}

#: (French, Arabic) for each legal purpose.
PURPOSES: dict[str, tuple[str, str]] = {
    "family-allowance": ("Allocations familiales", "المنح العائلية"),
    "insured-registration": ("Immatriculation d'un assuré social", "تسجيل مؤمن له اجتماعيا"),
    "survivor-benefit": ("Pension d'ayants droit", "منحة ذوي الحقوق"),
    "benefit-review": ("Révision d'une prestation", "مراجعة أداء"),
    "employer-registration": ("Immatriculation d'un employeur", "تسجيل هيئة مستخدمة"),
    "contribution-recovery": ("Recouvrement des cotisations", "تحصيل الاشتراكات"),
    "tax-audit": ("Contrôle fiscal", "الرقابة الجبائية"),
    "public-procurement": ("Marchés publics", "الصفقات العمومية"),
}
