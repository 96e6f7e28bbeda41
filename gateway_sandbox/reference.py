"""Deterministic reference lists for the sandbox administrations' synthetic data.

Everything here is a module-level constant (tuples of frozen dataclasses or of
``(latin, arabic)`` pairs) so that generators drawing from these lists with a
seeded ``random.Random`` produce the same data on every run.

The wilaya list follows the 2019 administrative division (58 wilayas); each
wilaya lists a few real communes, the chef-lieu first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "FAMILY_NAMES",
    "FEMALE_FIRST_NAMES",
    "MALE_FIRST_NAMES",
    "STREET_NAMES",
    "WILAYAS",
    "WILAYAS_BY_CODE",
    "Commune",
    "NamePair",
    "Wilaya",
]

NamePair = tuple[str, str]
"""A name as ``(latin, arabic)``."""


@dataclass(frozen=True)
class Commune:
    """A commune (baladiya) with its Latin and Arabic names."""

    latin: str
    arabic: str


@dataclass(frozen=True)
class Wilaya:
    """A wilaya: two-digit code, names, and a few communes (chef-lieu first)."""

    code: str
    latin: str
    arabic: str
    communes: tuple[Commune, ...]


def _w(code: int, latin: str, arabic: str, *communes: NamePair) -> Wilaya:
    """Build a :class:`Wilaya` from a numeric code and ``(latin, arabic)`` commune pairs."""
    return Wilaya(f"{code:02d}", latin, arabic, tuple(Commune(lat, ar) for lat, ar in communes))


WILAYAS: tuple[Wilaya, ...] = (
    _w(1, "Adrar", "أدرار", ("Adrar", "أدرار"), ("Reggane", "رقان"), ("Aoulef", "أولف"),
       ("Zaouiet Kounta", "زاوية كنتة")),
    _w(2, "Chlef", "الشلف", ("Chlef", "الشلف"), ("Ténès", "تنس"), ("Boukadir", "بوقادير"),
       ("Oued Fodda", "وادي الفضة")),
    _w(3, "Laghouat", "الأغواط", ("Laghouat", "الأغواط"), ("Aflou", "أفلو"),
       ("Ksar El Hirane", "قصر الحيران")),
    _w(4, "Oum El Bouaghi", "أم البواقي", ("Oum El Bouaghi", "أم البواقي"),
       ("Aïn Beïda", "عين البيضاء"), ("Aïn M'lila", "عين مليلة")),
    _w(5, "Batna", "باتنة", ("Batna", "باتنة"), ("Barika", "بريكة"), ("Arris", "آريس"),
       ("Merouana", "مروانة")),
    _w(6, "Béjaïa", "بجاية", ("Béjaïa", "بجاية"), ("Akbou", "أقبو"), ("Amizour", "أميزور"),
       ("Kherrata", "خراطة")),
    _w(7, "Biskra", "بسكرة", ("Biskra", "بسكرة"), ("Tolga", "طولقة"), ("Sidi Okba", "سيدي عقبة")),
    _w(8, "Béchar", "بشار", ("Béchar", "بشار"), ("Kenadsa", "القنادسة"), ("Abadla", "العبادلة")),
    _w(9, "Blida", "البليدة", ("Blida", "البليدة"), ("Boufarik", "بوفاريك"),
       ("Larbaâ", "الأربعاء"), ("Mouzaïa", "موزاية")),
    _w(10, "Bouira", "البويرة", ("Bouira", "البويرة"), ("Lakhdaria", "الأخضرية"),
       ("Sour El Ghozlane", "سور الغزلان")),
    _w(11, "Tamanrasset", "تمنراست", ("Tamanrasset", "تمنراست"), ("Abalessa", "أبلسة"),
       ("Tazrouk", "تاظروك")),
    _w(12, "Tébessa", "تبسة", ("Tébessa", "تبسة"), ("Bir El Ater", "بئر العاتر"),
       ("Chéria", "الشريعة")),
    _w(13, "Tlemcen", "تلمسان", ("Tlemcen", "تلمسان"), ("Maghnia", "مغنية"),
       ("Ghazaouet", "الغزوات"), ("Remchi", "الرمشي")),
    _w(14, "Tiaret", "تيارت", ("Tiaret", "تيارت"), ("Sougueur", "السوقر"), ("Frenda", "فرندة")),
    _w(15, "Tizi Ouzou", "تيزي وزو", ("Tizi Ouzou", "تيزي وزو"), ("Azazga", "عزازقة"),
       ("Draâ Ben Khedda", "ذراع بن خدة"), ("Larbaâ Nath Irathen", "الأربعاء ناث إيراثن")),
    _w(16, "Alger", "الجزائر", ("Alger-Centre", "الجزائر الوسطى"), ("Bab El Oued", "باب الوادي"),
       ("El Harrach", "الحراش"), ("Bir Mourad Raïs", "بئر مراد رايس")),
    _w(17, "Djelfa", "الجلفة", ("Djelfa", "الجلفة"), ("Messaad", "مسعد"),
       ("Aïn Oussera", "عين وسارة"), ("Hassi Bahbah", "حاسي بحبح")),
    _w(18, "Jijel", "جيجل", ("Jijel", "جيجل"), ("Taher", "الطاهير"), ("El Milia", "الميلية")),
    _w(19, "Sétif", "سطيف", ("Sétif", "سطيف"), ("El Eulma", "العلمة"),
       ("Aïn Oulmene", "عين ولمان"), ("Bougaâ", "بوقاعة")),
    _w(20, "Saïda", "سعيدة", ("Saïda", "سعيدة"), ("Aïn El Hadjar", "عين الحجر"), ("Youb", "يوب")),
    _w(21, "Skikda", "سكيكدة", ("Skikda", "سكيكدة"), ("Collo", "القل"), ("Azzaba", "عزابة")),
    _w(22, "Sidi Bel Abbès", "سيدي بلعباس", ("Sidi Bel Abbès", "سيدي بلعباس"),
       ("Télagh", "تلاغ"), ("Sfisef", "سفيزف")),
    _w(23, "Annaba", "عنابة", ("Annaba", "عنابة"), ("El Bouni", "البوني"), ("El Hadjar", "الحجار")),
    _w(24, "Guelma", "قالمة", ("Guelma", "قالمة"), ("Oued Zenati", "وادي الزناتي"),
       ("Héliopolis", "هيليوبوليس")),
    _w(25, "Constantine", "قسنطينة", ("Constantine", "قسنطينة"), ("El Khroub", "الخروب"),
       ("Hamma Bouziane", "حامة بوزيان"), ("Aïn Smara", "عين سمارة")),
    _w(26, "Médéa", "المدية", ("Médéa", "المدية"), ("Berrouaghia", "البرواقية"),
       ("Ksar El Boukhari", "قصر البخاري")),
    _w(27, "Mostaganem", "مستغانم", ("Mostaganem", "مستغانم"), ("Aïn Tédelès", "عين تادلس"),
       ("Sidi Ali", "سيدي علي")),
    _w(28, "M'Sila", "المسيلة", ("M'Sila", "المسيلة"), ("Bou Saâda", "بوسعادة"),
       ("Sidi Aïssa", "سيدي عيسى")),
    _w(29, "Mascara", "معسكر", ("Mascara", "معسكر"), ("Sig", "سيق"), ("Tighennif", "تيغنيف"),
       ("Mohammadia", "المحمدية")),
    _w(30, "Ouargla", "ورقلة", ("Ouargla", "ورقلة"), ("Hassi Messaoud", "حاسي مسعود"),
       ("N'Goussa", "انقوسة")),
    _w(31, "Oran", "وهران", ("Oran", "وهران"), ("Es Sénia", "السانية"),
       ("Bir El Djir", "بئر الجير"), ("Arzew", "أرزيو")),
    _w(32, "El Bayadh", "البيض", ("El Bayadh", "البيض"), ("Bougtob", "بوقطب"),
       ("Brézina", "بريزينة")),
    _w(33, "Illizi", "إليزي", ("Illizi", "إليزي"), ("In Amenas", "إن أمناس"),
       ("Bordj Omar Driss", "برج عمر إدريس")),
    _w(34, "Bordj Bou Arréridj", "برج بوعريريج", ("Bordj Bou Arréridj", "برج بوعريريج"),
       ("Ras El Oued", "رأس الوادي"), ("Medjana", "مجانة")),
    _w(35, "Boumerdès", "بومرداس", ("Boumerdès", "بومرداس"), ("Dellys", "دلس"),
       ("Bordj Menaïel", "برج منايل"), ("Boudouaou", "بودواو")),
    _w(36, "El Tarf", "الطارف", ("El Tarf", "الطارف"), ("El Kala", "القالة"),
       ("Ben M'Hidi", "بن مهيدي")),
    _w(37, "Tindouf", "تندوف", ("Tindouf", "تندوف"), ("Oum El Assel", "أم العسل")),
    _w(38, "Tissemsilt", "تيسمسيلت", ("Tissemsilt", "تيسمسيلت"),
       ("Theniet El Had", "ثنية الأحد"), ("Bordj Bounaama", "برج بونعامة")),
    _w(39, "El Oued", "الوادي", ("El Oued", "الوادي"), ("Guemar", "قمار"), ("Debila", "الدبيلة")),
    _w(40, "Khenchela", "خنشلة", ("Khenchela", "خنشلة"), ("Kais", "قايس"), ("Chechar", "ششار")),
    _w(41, "Souk Ahras", "سوق أهراس", ("Souk Ahras", "سوق أهراس"), ("Sedrata", "سدراتة"),
       ("M'Daourouch", "مداوروش")),
    _w(42, "Tipaza", "تيبازة", ("Tipaza", "تيبازة"), ("Cherchell", "شرشال"),
       ("Koléa", "القليعة"), ("Hadjout", "حجوط")),
    _w(43, "Mila", "ميلة", ("Mila", "ميلة"), ("Chelghoum Laïd", "شلغوم العيد"),
       ("Ferdjioua", "فرجيوة")),
    _w(44, "Aïn Defla", "عين الدفلى", ("Aïn Defla", "عين الدفلى"),
       ("Khemis Miliana", "خميس مليانة"), ("Miliana", "مليانة")),
    _w(45, "Naâma", "النعامة", ("Naâma", "النعامة"), ("Mécheria", "المشرية"),
       ("Aïn Sefra", "عين الصفراء")),
    _w(46, "Aïn Témouchent", "عين تموشنت", ("Aïn Témouchent", "عين تموشنت"),
       ("Beni Saf", "بني صاف"), ("Hammam Bou Hadjar", "حمام بوحجر")),
    _w(47, "Ghardaïa", "غرداية", ("Ghardaïa", "غرداية"), ("Metlili", "متليلي"),
       ("Berriane", "بريان")),
    _w(48, "Relizane", "غليزان", ("Relizane", "غليزان"), ("Oued Rhiou", "وادي رهيو"),
       ("Mazouna", "مازونة")),
    _w(49, "Timimoun", "تيميمون", ("Timimoun", "تيميمون"), ("Aougrout", "أوقروت"),
       ("Charouine", "شروين")),
    _w(50, "Bordj Badji Mokhtar", "برج باجي مختار", ("Bordj Badji Mokhtar", "برج باجي مختار"),
       ("Timiaouine", "تيمياوين")),
    _w(51, "Ouled Djellal", "أولاد جلال", ("Ouled Djellal", "أولاد جلال"),
       ("Sidi Khaled", "سيدي خالد"), ("Doucen", "الدوسن")),
    _w(52, "Béni Abbès", "بني عباس", ("Béni Abbès", "بني عباس"), ("Kerzaz", "كرزاز"),
       ("Igli", "إقلي")),
    _w(53, "In Salah", "عين صالح", ("In Salah", "عين صالح"), ("Foggaret Ezzoua", "فقارة الزوى")),
    _w(54, "In Guezzam", "عين قزام", ("In Guezzam", "عين قزام"), ("Tinzaouatine", "تين زواتين")),
    _w(55, "Touggourt", "تقرت", ("Touggourt", "تقرت"), ("Témacine", "تماسين"),
       ("Megarine", "المقارين"), ("Nezla", "النزلة")),
    _w(56, "Djanet", "جانت", ("Djanet", "جانت"), ("Bordj El Haouès", "برج الحواس")),
    _w(57, "El M'Ghair", "المغير", ("El M'Ghair", "المغير"), ("Djamaa", "جامعة"),
       ("Sidi Amrane", "سيدي عمران")),
    _w(58, "El Meniaa", "المنيعة", ("El Meniaa", "المنيعة"), ("Hassi Gara", "حاسي القارة"),
       ("Hassi Fehal", "حاسي الفحل")),
)
"""All 58 wilayas, in code order."""

WILAYAS_BY_CODE: Mapping[str, Wilaya] = MappingProxyType({w.code: w for w in WILAYAS})
"""The wilayas keyed by two-digit code (read-only)."""

MALE_FIRST_NAMES: tuple[NamePair, ...] = (
    ("Mohamed", "محمد"), ("Ahmed", "أحمد"), ("Abdelkader", "عبد القادر"), ("Ali", "علي"),
    ("Omar", "عمر"), ("Youcef", "يوسف"), ("Karim", "كريم"), ("Said", "سعيد"),
    ("Mustapha", "مصطفى"), ("Rachid", "رشيد"), ("Kamel", "كمال"), ("Farid", "فريد"),
    ("Nacer", "ناصر"), ("Hocine", "حسين"), ("Hassan", "حسن"), ("Brahim", "إبراهيم"),
    ("Djamel", "جمال"), ("Noureddine", "نور الدين"), ("Abdelaziz", "عبد العزيز"),
    ("Abderrahmane", "عبد الرحمن"), ("Amine", "أمين"), ("Bilal", "بلال"), ("Sofiane", "سفيان"),
    ("Yacine", "ياسين"), ("Walid", "وليد"), ("Hamza", "حمزة"), ("Ismail", "إسماعيل"),
    ("Khaled", "خالد"), ("Mourad", "مراد"), ("Salim", "سليم"), ("Tahar", "الطاهر"),
    ("Larbi", "العربي"), ("Messaoud", "مسعود"), ("Lakhdar", "لخضر"), ("Slimane", "سليمان"),
    ("Aissa", "عيسى"), ("Redouane", "رضوان"), ("Riad", "رياض"), ("Fares", "فارس"),
    ("Anis", "أنيس"), ("Adel", "عادل"), ("Zakaria", "زكرياء"),
)
"""Common Algerian male first names."""

FEMALE_FIRST_NAMES: tuple[NamePair, ...] = (
    ("Fatima", "فاطمة"), ("Khadidja", "خديجة"), ("Aicha", "عائشة"), ("Meriem", "مريم"),
    ("Amina", "أمينة"), ("Nadia", "نادية"), ("Samira", "سميرة"), ("Karima", "كريمة"),
    ("Souad", "سعاد"), ("Leila", "ليلى"), ("Zohra", "زهرة"), ("Malika", "مليكة"),
    ("Fatiha", "فتيحة"), ("Houria", "حورية"), ("Yamina", "يمينة"), ("Djamila", "جميلة"),
    ("Nassima", "نسيمة"), ("Rachida", "رشيدة"), ("Farida", "فريدة"), ("Hayat", "حياة"),
    ("Sabrina", "صبرينة"), ("Imane", "إيمان"), ("Asma", "أسماء"), ("Sara", "سارة"),
    ("Yasmine", "ياسمين"), ("Lina", "لينا"), ("Rania", "رانية"), ("Nour", "نور"),
    ("Wafa", "وفاء"), ("Hanane", "حنان"), ("Salima", "سليمة"), ("Ouarda", "وردة"),
    ("Zineb", "زينب"), ("Hadjer", "هاجر"), ("Chaima", "شيماء"), ("Ikram", "إكرام"),
    ("Sihem", "سهام"), ("Naima", "نعيمة"), ("Baya", "باية"), ("Kheira", "خيرة"),
)
"""Common Algerian female first names."""

FAMILY_NAMES: tuple[NamePair, ...] = (
    ("Benali", "بن علي"), ("Bouaziz", "بوعزيز"), ("Belkacem", "بلقاسم"), ("Mansouri", "منصوري"),
    ("Haddad", "حداد"), ("Brahimi", "إبراهيمي"), ("Saidi", "سعيدي"), ("Benamar", "بن عمار"),
    ("Hamidi", "حميدي"), ("Khelifi", "خليفي"), ("Zerrouki", "زروقي"), ("Cherif", "شريف"),
    ("Meziane", "مزيان"), ("Rahmani", "رحماني"), ("Ait Ahmed", "آيت أحمد"), ("Amrani", "عمراني"),
    ("Belhadj", "بلحاج"), ("Benaissa", "بن عيسى"), ("Bensalem", "بن سالم"), ("Bouzid", "بوزيد"),
    ("Chaouch", "شاوش"), ("Djebbar", "جبار"), ("Ferhat", "فرحات"), ("Guerfi", "قرفي"),
    ("Hadjadj", "حجاج"), ("Kaci", "قاسي"), ("Lahlou", "لحلو"), ("Mebarki", "مباركي"),
    ("Messaoudi", "مسعودي"), ("Nouri", "نوري"), ("Ouali", "والي"), ("Rezig", "رزيق"),
    ("Slimani", "سليماني"), ("Taleb", "طالب"), ("Toumi", "تومي"), ("Yahiaoui", "يحياوي"),
    ("Zitouni", "زيتوني"), ("Abbas", "عباس"), ("Bouchama", "بوشامة"), ("Benmoussa", "بن موسى"),
    ("Bensaid", "بن سعيد"), ("Benyahia", "بن يحيى"), ("Boukhari", "بوخاري"),
    ("Chabane", "شعبان"), ("Dahmani", "دحماني"), ("Djaballah", "جاب الله"),
    ("Guendouz", "قندوز"), ("Hamdi", "حمدي"), ("Hamadouche", "حمادوش"), ("Kadri", "قادري"),
    ("Laribi", "لعريبي"), ("Lounis", "لونيس"), ("Madani", "مدني"), ("Mahdi", "مهدي"),
    ("Mammeri", "معمري"), ("Merabet", "مرابط"), ("Mokrani", "مقراني"), ("Moussaoui", "موساوي"),
    ("Naceri", "ناصري"), ("Rahal", "رحال"), ("Saadi", "سعدي"), ("Salhi", "صالحي"),
    ("Sahraoui", "صحراوي"), ("Tabet", "ثابت"), ("Zidane", "زيدان"), ("Amara", "عمارة"),
    ("Benchikh", "بن الشيخ"), ("Hadji", "حاجي"), ("Aouadi", "عوادي"), ("Kherbouche", "خربوش"),
    ("Belaid", "بلعيد"), ("Bekkouche", "بكوش"), ("Ghezali", "غزالي"), ("Seddiki", "صديقي"),
    ("Tounsi", "تونسي"), ("Mekki", "مكي"), ("Benhamou", "بن حمو"), ("Azzouz", "عزوز"),
    ("Bouabdallah", "بوعبد الله"), ("Khaldi", "خالدي"), ("Yousfi", "يوسفي"), ("Daoudi", "داودي"),
    ("Kaddour", "قدور"), ("Boukhalfa", "بوخالفة"),
)
"""Common Algerian family names."""

STREET_NAMES: tuple[str, ...] = (
    "rue Didouche Mourad",
    "boulevard Zighout Youcef",
    "rue Larbi Ben M'hidi",
    "avenue de l'ALN",
    "rue Hassiba Ben Bouali",
    "boulevard Mohamed V",
    "rue Ahmed Zabana",
    "cité 500 Logements",
    "rue Abane Ramdane",
    "boulevard Colonel Amirouche",
    "rue Emir Abdelkader",
    "rue Ali Boumendjel",
    "avenue du 1er Novembre",
    "rue du 5 Juillet",
    "cité des 1000 Logements",
    "rue Mustapha Ben Boulaid",
    "boulevard Krim Belkacem",
    "rue Mohamed Khemisti",
    "rue des Frères Bouadou",
    "avenue de l'Indépendance",
    "rue Souidani Boudjemaa",
)
"""Street names (Latin) used to compose synthetic addresses."""
