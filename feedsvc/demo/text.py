"""The demo newsroom's phrase banks: desks, places, people and captions (data only).

Used by :mod:`feedsvc.demo.newsroom`; tuples only, so every draw from its seeded generator is
reproducible.
"""

from __future__ import annotations

from typing import NamedTuple


class Story(NamedTuple):
    """A headline with its sapo and one paragraph of its own; ``{slots}`` name context values."""

    title: str
    sapo: str
    paragraph: str


class Desk(NamedTuple):
    """A newsroom desk: its category, share of output, photos, stories and stock paragraphs."""

    slug: str
    weight: int
    sea: bool  # stories set on the coast and islands rather than the land border
    related: tuple[str, ...]  # secondary categories, most likely first
    photos: tuple[str, ...]
    stories: tuple[Story, ...]
    paragraphs: tuple[str, ...]  # at least five: a body has up to six paragraphs


class Land(NamedTuple):
    name: str
    neighbour: str
    gate: str
    posts: tuple[str, ...]  # Đồn Biên phòng …


class Sea(NamedTuple):
    name: str
    posts: tuple[str, ...]


# --- Phrase banks -------------------------------------------------------------------------------
# Tuples only, so every draw from the seeded generator is reproducible. Texts are plain (escaped
# when they become HTML); "{slot}" names a value from _context().

HOURS = tuple(range(5, 23))
HOUR_WEIGHTS = (3, 7, 8, 8, 8, 7, 6, 3, 4, 6, 6, 6, 5, 3, 4, 5, 4, 2)

# fmt: off
LAND_PROVINCES = (
    Land("Lào Cai", "Trung Quốc", "Cửa khẩu Quốc tế Lào Cai",
          ("Cửa khẩu Quốc tế Lào Cai", "Bát Xát", "A Mú Sung", "Bản Vược")),
    Land("Hà Giang", "Trung Quốc", "Cửa khẩu Quốc tế Thanh Thủy",
          ("Lũng Cú", "Săm Pun", "Cửa khẩu Quốc tế Thanh Thủy", "Xín Cái")),
    Land("Quảng Ninh", "Trung Quốc", "Cửa khẩu Quốc tế Móng Cái",
          ("Cửa khẩu Quốc tế Móng Cái", "Hoành Mô", "Pò Hèn", "Bắc Phong Sinh")),
    Land("Lạng Sơn", "Trung Quốc", "Cửa khẩu Quốc tế Hữu Nghị",
          ("Cửa khẩu Quốc tế Hữu Nghị", "Chi Ma", "Bảo Lâm")),
    Land("Cao Bằng", "Trung Quốc", "Cửa khẩu Trà Lĩnh",
          ("Cửa khẩu Trà Lĩnh", "Đàm Thủy", "Lý Vạn")),
    Land("Lai Châu", "Trung Quốc", "Cửa khẩu Ma Lù Thàng", ("Cửa khẩu Ma Lù Thàng", "Dào San")),
    Land("Điện Biên", "Lào", "Cửa khẩu Quốc tế Tây Trang",
          ("Cửa khẩu Quốc tế Tây Trang", "Mường Nhé", "Huổi Puốc")),
    Land("Thanh Hóa", "Lào", "Cửa khẩu Quốc tế Na Mèo", ("Cửa khẩu Quốc tế Na Mèo", "Tam Chung")),
    Land("Nghệ An", "Lào", "Cửa khẩu Quốc tế Nậm Cắn",
          ("Cửa khẩu Quốc tế Nậm Cắn", "Keng Đu", "Môn Sơn")),
    Land("Quảng Bình", "Lào", "Cửa khẩu Quốc tế Cha Lo", ("Cửa khẩu Quốc tế Cha Lo", "Cà Xèng")),
    Land("Quảng Trị", "Lào", "Cửa khẩu Quốc tế Lao Bảo", ("Cửa khẩu Quốc tế Lao Bảo", "A Dơi")),
    Land("Kon Tum", "Lào", "Cửa khẩu Quốc tế Bờ Y", ("Cửa khẩu Quốc tế Bờ Y", "Mô Rai")),
    Land("Tây Ninh", "Campuchia", "Cửa khẩu Quốc tế Mộc Bài",
          ("Cửa khẩu Quốc tế Mộc Bài", "Cửa khẩu Quốc tế Xa Mát", "Tân Hà")),
    Land("An Giang", "Campuchia", "Cửa khẩu Quốc tế Tịnh Biên",
          ("Cửa khẩu Quốc tế Tịnh Biên", "Vĩnh Xương", "Khánh Bình")),
    Land("Kiên Giang", "Campuchia", "Cửa khẩu Quốc tế Hà Tiên",
          ("Cửa khẩu Quốc tế Hà Tiên", "Giang Thành")),
    Land("Đồng Tháp", "Campuchia", "Cửa khẩu Quốc tế Thường Phước",
          ("Cửa khẩu Quốc tế Thường Phước", "Dinh Bà")),
)
SEA_PROVINCES = (
    Sea("Quảng Ninh", ("Cô Tô", "Vạn Gia", "Cửa khẩu cảng Cẩm Phả")),
    Sea("Hải Phòng", ("Bạch Long Vĩ", "Cát Bà")),
    Sea("Quảng Ngãi", ("Lý Sơn", "Sa Kỳ")),
    Sea("Khánh Hòa", ("Cam Ranh", "Ninh Vân")),
    Sea("Bà Rịa - Vũng Tàu", ("Côn Đảo", "Phước Tỉnh")),
    Sea("Kiên Giang", ("Phú Quốc", "Thổ Châu", "Hòn Sơn")),
    Sea("Cà Mau", ("Đất Mũi", "Khánh Hội")),
)
LEADERS = (
    ("Trung tướng", "Tư lệnh Bộ đội Biên phòng"),
    ("Thiếu tướng", "Phó Tư lệnh Bộ đội Biên phòng"),
    ("Thiếu tướng", "Phó Chính ủy Bộ đội Biên phòng"),
    ("Đại tá", "Chỉ huy trưởng Bộ đội Biên phòng tỉnh {tinh}"),
    ("Đại tá", "Chính ủy Bộ đội Biên phòng tỉnh {tinh}"),
    ("Thượng tá", "Phó Chỉ huy trưởng Bộ đội Biên phòng tỉnh {tinh}"),
    ("Trung tá", "Đồn trưởng Đồn Biên phòng {post}"),
    ("Thiếu tá", "Chính trị viên Đồn Biên phòng {post}"),
)
OFFICIALS = ("Phó Chủ tịch UBND tỉnh", "Chủ tịch UBND tỉnh", "Phó Bí thư Tỉnh ủy")
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
             "Dương", "Lý", "Đinh", "Lò", "Vàng")
MIDDLE_NAMES = ("Văn", "Đức", "Minh", "Quang", "Hữu", "Thanh", "Ngọc", "Xuân", "Mạnh", "Trọng")
GIVEN_NAMES = ("Hùng", "Dũng", "Thắng", "Hải", "Long", "Tuấn", "Sơn", "Cường", "Bình", "Phong",
                "Thành", "Quyết", "Toàn", "Hiếu", "Kiên", "Nam", "Trung", "Vinh")
FEMALE_NAMES = ("Hà", "Lan", "Hương", "Thủy", "Nga", "Mai", "Hằng")
REPORTERS = ("Hồng Pha", "Quang Hùng", "Minh Thuận", "Thu Hà", "Ngọc Vân", "Trọng Hiếu",
              "Đức Thắng", "Phạm Tâm", "Hoàng Thùy", "Khánh Ly", "Bùi Hằng", "Lê Thanh",
              "Nguyễn Hòa", "Đoàn Phong", "Thanh Tùng", "Hải Yến")
WIRE_CREDITS = ("TTXVN", "Reuters", "AFP", "Tư liệu")
COUNTRIES = (("Nhật Bản", "Tokyo"), ("Hàn Quốc", "Seoul"), ("Indonesia", "Jakarta"),
              ("Philippines", "Manila"), ("Malaysia", "Kuala Lumpur"), ("Thái Lan", "Bangkok"),
              ("Singapore", "Singapore"), ("Australia", "Canberra"), ("Ấn Độ", "New Delhi"),
              ("Lào", "Vientiane"), ("Campuchia", "Phnom Penh"))
QUAKES = ("Indonesia", "Philippines", "Nhật Bản", "Papua New Guinea")
CONTRABAND = ("pháo nổ", "thuốc lá điếu", "đường kính", "gia cầm không rõ nguồn gốc",
               "quần áo may sẵn", "linh kiện điện tử", "rượu ngoại")
FIGURES = (  # (slot, lowest, highest)
    ("so_doi_tuong", 2, 6), ("so_ho", 40, 320), ("so_to", 6, 32), ("so_dot", 24, 140),
    ("so_banh", 4, 36), ("pct_gioi", 70, 95), ("pct_tang", 6, 28), ("so_dien_hinh", 18, 85),
    ("ty_usd", 180, 2600), ("so_xe", 300, 1600), ("trieu", 40, 90), ("trieu2", 100, 180),
    ("so_hoc_vien", 18, 45), ("so_hoc_sinh", 20, 120), ("so_nguoi", 150, 650), ("so_nha", 2, 8),
    ("m2", 50, 72), ("so_tau", 40, 420), ("so_ngu_dan", 3, 12), ("so_can_bo", 8, 22),
    ("so_suat", 30, 160), ("so_con", 6, 20), ("so_sach", 300, 1500),
)
PHOTO_CAPTIONS = {
    "bien-gioi-nui.jpg": (
        "Tuyến biên giới do Đồn Biên phòng {post} quản lý",
        "Cán bộ, chiến sĩ Đồn Biên phòng {post} hành quân tuần tra biên giới",
    ),
    "moc-quoc-gioi.jpg": (
        "Cán bộ, chiến sĩ Đồn Biên phòng {post} kiểm tra mốc quốc giới",
        "Mốc quốc giới trên tuyến biên giới Việt Nam - {nuoc} thuộc tỉnh {tinh}",
    ),
    "tuan-tra-rung.jpg": (
        "Tổ công tác Đồn Biên phòng {post} tuần tra trên đường mòn biên giới",
        "Cán bộ, chiến sĩ Bộ đội Biên phòng tỉnh {tinh} vượt rừng tuần tra",
    ),
    "dao-hai-dang.jpg": (
        "Ngọn hải đăng trên đảo thuộc vùng biển tỉnh {tinh}",
        "Một góc đảo nơi cán bộ, chiến sĩ Đồn Biên phòng {post} làm nhiệm vụ",
    ),
    "tau-tuan-tra.jpg": (
        "Tàu của Bộ đội Biên phòng tỉnh {tinh} tuần tra trên biển",
        "Tàu làm nhiệm vụ tìm kiếm, cứu nạn trên vùng biển tỉnh {tinh}",
    ),
    "hoi-nghi.jpg": (
        "Quang cảnh hội nghị",
        "{lanh_dao_ngan} phát biểu chỉ đạo tại hội nghị",
        "Các đại biểu dự hội nghị",
    ),
    "le-chao-co.jpg": (
        "Nghi lễ chào cờ tại buổi lễ",
        "Cán bộ, chiến sĩ Đồn Biên phòng {post} dự lễ chào cờ",
    ),
    "cua-khau.jpg": (
        "Phương tiện chờ làm thủ tục thông quan tại {cua_khau}",
        "Khu vực {cua_khau}, tỉnh {tinh}",
    ),
    "cang-container.jpg": (
        "Hàng hóa xuất, nhập khẩu tập kết tại khu kinh tế cửa khẩu",
        "Container hàng hóa chờ làm thủ tục thông quan",
    ),
    "ruong-bac-thang.jpg": (
        "Ruộng bậc thang ở xã biên giới tỉnh {tinh}",
        "Mùa lúa chín trên vùng cao biên giới {tinh}",
    ),
    "ban-lang.jpg": (
        "Một góc bản vùng biên tỉnh {tinh}",
        "Diện mạo bản làng khu vực biên giới ngày càng khởi sắc",
    ),
    "lop-hoc.jpg": (
        "Cán bộ Đồn Biên phòng {post} dạy chữ cho đồng bào",
        "Một buổi học của lớp xóa mù chữ do Bộ đội Biên phòng đứng lớp",
    ),
    "qua-dia-cau.jpg": ("Ảnh minh họa",),
}

# fmt: on

COMMON_PARAGRAPHS = (
    "Được biết, thời gian qua, Bộ đội Biên phòng tỉnh {tinh} đã duy trì hiệu quả các chương trình "
    'như "Nâng bước em tới trường - Con nuôi Đồn Biên phòng", "Xuân Biên phòng ấm lòng dân bản", '
    "góp phần củng cố vững chắc thế trận lòng dân nơi biên giới.",
    "Theo {lanh_dao}, kết quả trên là minh chứng cho sự vào cuộc đồng bộ của cả hệ thống chính trị "
    "và sự đồng thuận, ủng hộ của nhân dân các dân tộc khu vực biên giới.",
    "Thời gian tới, đơn vị tiếp tục phối hợp chặt chẽ với cấp ủy, chính quyền địa phương và các "
    "lực lượng chức năng, làm tốt công tác tuyên truyền, vận động quần chúng nhân dân, xây dựng "
    "thế trận biên phòng toàn dân vững chắc.",
)

BORDER = Desk(
    "bien-gioi-lanh-tho",
    22,
    False,
    ("quoc-phong-an-ninh", "thoi-su"),
    ("bien-gioi-nui.jpg", "moc-quoc-gioi.jpg", "tuan-tra-rung.jpg"),
    (
        Story(
            "Đồn Biên phòng {post} tuần tra song phương với lực lượng bảo vệ biên giới {nuoc}",
            "Đồn Biên phòng {post}, Bộ đội Biên phòng tỉnh {tinh} phối hợp với lực lượng bảo vệ "
            "biên giới {nuoc} tổ chức tuần tra song phương đoạn biên giới do đơn vị quản lý",
            "Trong quá trình tuần tra, hai bên đã kiểm tra hiện trạng đường biên, mốc quốc giới, "
            "hệ thống cọc dấu và các công trình biên giới; đồng thời tuyên truyền cho người dân "
            "chấp hành nghiêm các văn kiện pháp lý về biên giới giữa Việt Nam và {nuoc}.",
        ),
        Story(
            "Bắt giữ {so_doi_tuong} đối tượng vận chuyển trái phép {hang} qua biên giới {tinh}",
            "Đồn Biên phòng {post}, Bộ đội Biên phòng tỉnh {tinh} phối hợp với các lực lượng "
            "chức năng bắt giữ {so_doi_tuong} đối tượng vận chuyển trái phép {hang} qua biên giới",
            "Tại thời điểm kiểm tra, các đối tượng không xuất trình được hóa đơn, chứng từ hợp "
            "pháp của số hàng hóa. Toàn bộ tang vật, đối tượng đã được bàn giao cho cơ quan "
            "chức năng để tiếp tục điều tra, xử lý theo quy định của pháp luật.",
        ),
        Story(
            "Giữ vững chủ quyền, an ninh biên giới trên địa bàn tỉnh {tinh}",
            "{lanh_dao} cho biết, lực lượng Biên phòng tỉnh đã chủ động nắm chắc tình hình, quản "
            "lý, bảo vệ vững chắc chủ quyền lãnh thổ, an ninh biên giới quốc gia",
            "Địa bàn biên giới tỉnh {tinh} cơ bản ổn định; tuy nhiên, tình trạng xuất, nhập cảnh "
            "trái phép qua đường mòn, lối mở vẫn diễn biến phức tạp. Đơn vị đã tổ chức {so_dot} "
            "đợt tuần tra, kiểm soát, kịp thời phát hiện và xử lý các vụ việc ngay từ cơ sở.",
        ),
        Story(
            "Hội đàm biên giới giữa Bộ đội Biên phòng tỉnh {tinh} và lực lượng bảo vệ biên giới "
            "{nuoc}",
            "tại {cua_khau}, Bộ đội Biên phòng tỉnh {tinh} tổ chức hội đàm định kỳ với lực lượng "
            "bảo vệ biên giới {nuoc}",
            "Hai bên thống nhất tiếp tục duy trì cơ chế trao đổi thông tin, phối hợp giải quyết "
            "kịp thời các vụ việc phát sinh, xây dựng đường biên giới hòa bình, hữu nghị, hợp "
            "tác và phát triển.",
        ),
        Story(
            "Phát huy vai trò nhân dân tự quản đường biên, mốc quốc giới ở {tinh}",
            "Đồn Biên phòng {post}, Bộ đội Biên phòng tỉnh {tinh} sơ kết phong trào Toàn dân "
            "tham gia tự quản đường biên, mốc quốc giới và an ninh trật tự thôn, bản",
            "Đến nay, trên địa bàn do Đồn quản lý có {so_ho} hộ gia đình và {so_to} tổ tự quản "
            "tham gia bảo vệ đường biên, mốc quốc giới. Nhiều nguồn tin có giá trị do người dân "
            "cung cấp đã giúp lực lượng Biên phòng đấu tranh, triệt phá các đường dây tội phạm.",
        ),
    ),
    (
        "Qua kiểm tra, đường biên, mốc quốc giới trên tuyến được quản lý chặt chẽ, không có hiện "
        "tượng xê dịch, hư hỏng; tình hình an ninh chính trị, trật tự an toàn xã hội ổn định.",
        "Đồn Biên phòng {post} duy trì nghiêm chế độ trực sẵn sàng chiến đấu, bố trí lực lượng "
        "chốt chặn tại các đường mòn, lối mở trọng điểm, không để đối tượng lợi dụng địa hình "
        "phức tạp để hoạt động vi phạm pháp luật.",
        *COMMON_PARAGRAPHS,
    ),
)

DEFENCE = Desk(
    "quoc-phong-an-ninh",
    16,
    False,
    ("thoi-su", "bien-gioi-lanh-tho"),
    ("tuan-tra-rung.jpg", "hoi-nghi.jpg", "le-chao-co.jpg"),
    (
        Story(
            "Bộ đội Biên phòng tỉnh {tinh} diễn tập phòng thủ khu vực biên giới năm {nam}",
            "Bộ đội Biên phòng tỉnh {tinh} phối hợp với Bộ Chỉ huy Quân sự tỉnh tổ chức diễn tập "
            "chiến đấu phòng thủ khu vực biên giới",
            "Cuộc diễn tập sát với thực tế địa bàn, kiểm nghiệm khả năng chỉ huy, hiệp đồng giữa "
            "các lực lượng và năng lực cơ động, xử lý tình huống của cán bộ, chiến sĩ; bảo đảm "
            "an toàn tuyệt đối về người, vũ khí, trang bị.",
        ),
        Story(
            "Kiểm tra công tác huấn luyện, sẵn sàng chiến đấu tại Đồn Biên phòng {post}",
            "{lanh_dao_ngan} đã kiểm tra công tác huấn luyện, sẵn sàng chiến đấu và xây dựng chính "
            "quy tại Đồn Biên phòng {post}, Bộ đội Biên phòng tỉnh {tinh}",
            "Nội dung huấn luyện tập trung vào bắn súng, võ thuật, điều lệnh và xử lý các tình "
            "huống trên tuyến biên giới. Kết quả kiểm tra có {pct_gioi}% quân số đạt khá, giỏi.",
        ),
        Story(
            "Triệt phá đường dây mua bán trái phép chất ma túy qua biên giới {tinh}",
            "Ban Chuyên án của Bộ đội Biên phòng tỉnh {tinh} đã triệt phá một đường dây mua bán "
            "trái phép chất ma túy, bắt giữ {so_doi_tuong} đối tượng, thu giữ {so_banh} bánh "
            "heroin",
            "Ban Chuyên án đã phối hợp chặt chẽ với Công an tỉnh, tổ chức bám sát đối tượng, lựa "
            "chọn thời cơ bắt giữ khi các đối tượng đang giao dịch tại khu vực giáp biên. Vụ án "
            "đang được mở rộng điều tra.",
        ),
        Story(
            "Xây dựng nền biên phòng toàn dân vững mạnh ở {tinh}",
            "Ban Chỉ đạo xây dựng nền biên phòng toàn dân tỉnh {tinh} tổ chức hội nghị sơ kết, "
            "đánh giá kết quả thực hiện nhiệm vụ",
            "Năm {nam}, công tác xây dựng nền biên phòng toàn dân trên địa bàn tỉnh {tinh} được "
            "triển khai đồng bộ, huy động được sự vào cuộc của cả hệ thống chính trị.",
        ),
    ),
    (
        "Phát biểu chỉ đạo, {lanh_dao_ngan} yêu cầu cấp ủy, chỉ huy các cấp tiếp tục quán triệt "
        "sâu sắc quan điểm của Đảng về nhiệm vụ quốc phòng, an ninh, nắm chắc tình hình, tham mưu "
        "kịp thời, không để bị động, bất ngờ trong mọi tình huống.",
        "Các đơn vị thường xuyên rà soát, bổ sung kế hoạch, phương án tác chiến, duy trì nghiêm "
        "chế độ trực ban, trực chỉ huy, trực sẵn sàng chiến đấu.",
        *COMMON_PARAGRAPHS,
    ),
)

NEWS = Desk(
    "thoi-su",
    14,
    False,
    ("quoc-phong-an-ninh", "xa-hoi"),
    ("hoi-nghi.jpg", "le-chao-co.jpg", "cua-khau.jpg"),
    (
        Story(
            "Kỷ niệm {so_nam} năm Ngày thành lập Đồn Biên phòng {post}",
            "Đồn Biên phòng {post}, Bộ đội Biên phòng tỉnh {tinh} long trọng tổ chức lễ kỷ niệm "
            "{so_nam} năm Ngày thành lập đơn vị",
            "Trải qua {so_nam} năm xây dựng, chiến đấu và trưởng thành, các thế hệ cán bộ, chiến "
            "sĩ đơn vị luôn đoàn kết, khắc phục khó khăn, bám địa bàn, hoàn thành xuất sắc nhiệm "
            "vụ được giao.",
        ),
        Story(
            "Tỉnh {tinh} triển khai cao điểm bảo đảm an ninh, trật tự khu vực biên giới",
            "UBND tỉnh {tinh} tổ chức hội nghị triển khai kế hoạch cao điểm tấn công, trấn áp tội "
            "phạm, với sự tham gia của Bộ đội Biên phòng tỉnh, Công an tỉnh và các sở, ngành",
            "Phát biểu tại hội nghị, {quan_chuc} đề nghị các lực lượng phối hợp chặt chẽ, nắm "
            "chắc địa bàn, kiên quyết đấu tranh với các loại tội phạm, không để hình thành "
            '"điểm nóng".',
        ),
        Story(
            "Bộ Tư lệnh Bộ đội Biên phòng giao ban công tác tháng {thang}",
            "Bộ Tư lệnh Bộ đội Biên phòng tổ chức hội nghị giao ban trực tuyến, đánh giá kết quả "
            "thực hiện nhiệm vụ tháng {thang}",
            "Trong tháng, lực lượng Bộ đội Biên phòng đã chủ trì, phối hợp phát hiện, bắt giữ "
            "nhiều vụ việc vi phạm pháp luật, trong đó có {so_doi_tuong} chuyên án ma túy lớn.",
        ),
        Story(
            "Đại hội thi đua Quyết thắng Bộ đội Biên phòng tỉnh {tinh} giai đoạn {giai_doan}",
            "Bộ đội Biên phòng tỉnh {tinh} tổ chức Đại hội thi đua Quyết thắng giai đoạn "
            "{giai_doan}, biểu dương {so_dien_hinh} tập thể, cá nhân điển hình tiên tiến",
            "Phong trào thi đua Quyết thắng được triển khai sâu rộng, gắn với cuộc vận động phát "
            'huy truyền thống, cống hiến tài năng, xứng danh "Bộ đội Cụ Hồ".',
        ),
    ),
    (
        "Tại hội nghị, các đại biểu đã tập trung thảo luận, làm rõ những kết quả đạt được, chỉ ra "
        "hạn chế, nguyên nhân và đề xuất nhiều giải pháp sát thực tiễn.",
        "Dịp này, {so_dien_hinh} tập thể, cá nhân có thành tích xuất sắc đã được tặng Bằng khen, "
        "Giấy khen.",
        *COMMON_PARAGRAPHS,
    ),
)

ECONOMY = Desk(
    "kinh-te",
    12,
    False,
    ("bien-gioi-lanh-tho", "thoi-su"),
    ("cua-khau.jpg", "cang-container.jpg", "ruong-bac-thang.jpg"),
    (
        Story(
            "Kim ngạch xuất, nhập khẩu qua {cua_khau} tăng {pct_tang}%",
            "tổng kim ngạch xuất, nhập khẩu hàng hóa qua {cua_khau}, tỉnh {tinh} từ đầu năm đến "
            "nay đạt {ty_usd} triệu USD, tăng {pct_tang}% so với cùng kỳ",
            "Trung bình mỗi ngày có khoảng {so_xe} lượt phương tiện xuất, nhập cảnh qua cửa "
            "khẩu; hàng xuất khẩu chủ yếu là nông sản, thủy sản, hàng nhập khẩu chủ yếu là máy "
            "móc, thiết bị và nguyên liệu sản xuất.",
        ),
        Story(
            "Thông quan nông sản qua {cua_khau} những ngày cao điểm",
            "hàng trăm phương tiện chở nông sản đã được làm thủ tục thông quan qua {cua_khau}, "
            "tỉnh {tinh}",
            "Lực lượng Biên phòng cửa khẩu bố trí thêm nhân lực, triển khai thủ tục biên phòng "
            "điện tử, rút ngắn thời gian làm thủ tục cho người và phương tiện.",
        ),
        Story(
            "Trồng cây dược liệu giúp đồng bào biên giới {tinh} thoát nghèo",
            "nhờ sự hỗ trợ của chính quyền và Đồn Biên phòng {post}, nhiều hộ đồng bào ở xã biên "
            "giới của tỉnh {tinh} đã chuyển đổi cơ cấu cây trồng",
            "Trước đây người dân chủ yếu trồng ngô, lúa nương nên thu nhập bấp bênh. Nay mỗi hộ "
            "có thu nhập từ {trieu} đến {trieu2} triệu đồng mỗi năm.",
        ),
        Story(
            "Đồn Biên phòng {post} trao bò giống giúp hộ nghèo vùng biên",
            "Đồn Biên phòng {post}, Bộ đội Biên phòng tỉnh {tinh} trao {so_con} con bò giống cho "
            'các hộ nghèo trong khuôn khổ mô hình "Trao bò giống cho hộ nghèo biên giới"',
            "Cán bộ Đồn hướng dẫn người dân kỹ thuật chăn nuôi, phòng bệnh cho vật nuôi, đồng "
            "thời vận động bà con giữ gìn, nhân rộng mô hình.",
        ),
    ),
    (
        "Theo kế hoạch, địa phương sẽ đầu tư hạ tầng giao thông, kho bãi, phát triển dịch vụ "
        "logistics, đưa kinh tế cửa khẩu trở thành động lực tăng trưởng của tỉnh.",
        "Theo các doanh nghiệp, thủ tục tại cửa khẩu ngày càng thông thoáng, giúp tiết kiệm chi "
        "phí, giữ được chất lượng hàng hóa, nhất là các mặt hàng nông sản tươi.",
        *COMMON_PARAGRAPHS,
    ),
)

SOCIETY = Desk(
    "xa-hoi",
    14,
    False,
    ("bien-gioi-lanh-tho", "van-hoa"),
    ("ban-lang.jpg", "lop-hoc.jpg"),
    (
        Story(
            "Lớp học xóa mù chữ của Bộ đội Biên phòng ở bản vùng cao {tinh}",
            "Đồn Biên phòng {post}, Bộ đội Biên phòng tỉnh {tinh} khai giảng lớp xóa mù chữ cho "
            "{so_hoc_vien} học viên là đồng bào dân tộc thiểu số",
            "Lớp học được tổ chức vào buổi tối, do cán bộ Đồn trực tiếp giảng dạy. Sau khóa "
            "học, học viên biết đọc, biết viết, biết làm các phép tính cơ bản.",
        ),
        Story(
            '"Nâng bước em tới trường" tiếp sức học sinh nghèo biên giới {tinh}',
            'Bộ đội Biên phòng tỉnh {tinh} trao hỗ trợ Chương trình "Nâng bước em tới trường - '
            'Con nuôi Đồn Biên phòng" cho {so_hoc_sinh} học sinh có hoàn cảnh khó khăn',
            "Mỗi em được hỗ trợ 500.000 đồng mỗi tháng cho đến khi học hết lớp 12, giúp các em "
            "yên tâm đến trường, vươn lên trong học tập.",
        ),
        Story(
            "Khám bệnh, cấp thuốc miễn phí cho người dân biên giới {tinh}",
            "Đồn Biên phòng {post} phối hợp với Trung tâm Y tế tổ chức khám bệnh, cấp thuốc miễn "
            "phí cho hơn {so_nguoi} người dân có hoàn cảnh khó khăn",
            "Các y, bác sĩ quân y đã tư vấn, hướng dẫn người dân cách phòng, chống bệnh thường "
            "gặp, giữ gìn vệ sinh môi trường; cấp thuốc trị giá hơn {trieu} triệu đồng.",
        ),
        Story(
            "Bàn giao nhà Đại đoàn kết cho hộ nghèo xã biên giới {tinh}",
            "Đồn Biên phòng {post}, Bộ đội Biên phòng tỉnh {tinh} bàn giao {so_nha} căn nhà Đại "
            "đoàn kết cho các hộ nghèo, hộ có hoàn cảnh đặc biệt khó khăn",
            "Mỗi căn nhà rộng {m2} m², xây dựng kiên cố từ nguồn xã hội hóa; cán bộ, chiến sĩ "
            "Đồn đã hỗ trợ hàng trăm ngày công vận chuyển vật liệu, san lấp mặt bằng.",
        ),
    ),
    (
        "Bà con trong bản cho biết, nhờ sự quan tâm, giúp đỡ của Bộ đội Biên phòng mà đời sống "
        "ngày càng ổn định, con em được đến trường đầy đủ, tình quân dân thêm gắn bó.",
        "Ghi nhận những việc làm thiết thực của đơn vị, {quan_chuc} đánh giá cao vai trò của "
        "Bộ đội Biên phòng trong công tác an sinh xã hội ở khu vực biên giới.",
        *COMMON_PARAGRAPHS,
    ),
)

SEA_DESK = Desk(
    "bien-dao",
    10,
    True,
    ("bien-gioi-lanh-tho", "quoc-phong-an-ninh"),
    ("dao-hai-dang.jpg", "tau-tuan-tra.jpg"),
    (
        Story(
            "Tuần tra, kiểm soát bảo vệ chủ quyền vùng biển {tinh}",
            "Bộ đội Biên phòng tỉnh {tinh} tổ chức đợt tuần tra, kiểm soát trên vùng biển được "
            "giao quản lý, tuyên truyền cho ngư dân về chống khai thác hải sản bất hợp pháp (IUU)",
            "Tàu làm nhiệm vụ đã kiểm tra {so_tau} lượt phương tiện, nhắc nhở các chủ tàu chấp "
            "hành quy định về giấy tờ, thiết bị giám sát hành trình và nhật ký khai thác.",
        ),
        Story(
            "Chống khai thác IUU: kiểm soát chặt tàu cá xuất, nhập bến tại {tinh}",
            "Đồn Biên phòng {post} đã kiểm tra, kiểm soát hơn {so_tau} lượt tàu cá xuất, nhập "
            "bến, không cho tàu cá không đủ điều kiện ra khơi",
            "Đơn vị phối hợp với các cơ quan chức năng tuyên truyền đến từng chủ tàu, thuyền "
            "trưởng, không để tàu cá và ngư dân vi phạm vùng biển nước ngoài.",
        ),
        Story(
            "Cứu nạn {so_ngu_dan} ngư dân gặp nạn trên vùng biển {tinh}",
            "tàu của Bộ đội Biên phòng tỉnh {tinh} đã tiếp cận, cứu nạn thành công "
            "{so_ngu_dan} ngư dân trên tàu cá bị hỏng máy, trôi dạt trên biển",
            "Nhận tin báo, đơn vị điều động tàu cùng {so_can_bo} cán bộ, chiến sĩ vượt sóng gió "
            "cấp 6, cấp 7 tiếp cận hiện trường, lai dắt tàu cá cùng các ngư dân vào bờ an toàn.",
        ),
        Story(
            "Đồn Biên phòng {post} đồng hành cùng ngư dân vươn khơi bám biển",
            'Đồn Biên phòng {post}, Bộ đội Biên phòng tỉnh {tinh} tổ chức chương trình "Tiếp '
            'sức ngư dân vươn khơi bám biển"',
            'Ngư dân {ngu_dan} chia sẻ: "Có Bộ đội Biên phòng đồng hành, chúng tôi yên tâm bám '
            'biển, vừa khai thác hải sản, vừa góp phần bảo vệ chủ quyền biển, đảo".',
        ),
    ),
    (
        "Dịp này, đơn vị đã trao tặng {so_suat} suất quà, cờ Tổ quốc và áo phao cho các hộ ngư dân "
        "có hoàn cảnh khó khăn.",
        "Trong quá trình tuần tra, không phát hiện vụ việc vi phạm chủ quyền trên vùng biển; tình "
        "hình an ninh, trật tự tại các cảng cá, bến bãi ổn định.",
        *COMMON_PARAGRAPHS,
    ),
)

WORLD = Desk(
    "the-gioi",
    8,
    False,
    ("thoi-su", "kinh-te"),
    ("qua-dia-cau.jpg",),
    (
        Story(
            "ASEAN thúc đẩy hợp tác phòng, chống tội phạm xuyên quốc gia",
            "hội nghị quan chức cấp cao ASEAN về tội phạm xuyên quốc gia đã diễn ra tại "
            "{thu_do}, {nuoc_ngoai}",
            "Các nước nhấn mạnh việc chia sẻ thông tin, phối hợp tuần tra chung và nâng cao năng "
            "lực cho lực lượng thực thi pháp luật tại các cửa khẩu, tuyến biên giới.",
        ),
        Story(
            "{nuoc_ngoai} và các đối tác thảo luận về an ninh hàng hải",
            "các quan chức {nuoc_ngoai} và các đối tác đã gặp nhau tại {thu_do} để thảo luận biện "
            "pháp bảo đảm an ninh, an toàn và tự do hàng hải trong khu vực",
            "Các bên nhất trí duy trì cơ chế tham vấn định kỳ, giải quyết tranh chấp bằng biện "
            "pháp hòa bình trên cơ sở luật pháp quốc tế, trong đó có UNCLOS 1982.",
        ),
        Story(
            "Giá dầu thế giới biến động mạnh trong phiên giao dịch cuối tuần",
            "giá dầu thô trên thị trường thế giới biến động mạnh khi nhà đầu tư theo dõi sát các "
            "quyết định về sản lượng của nhóm OPEC+",
            "Giới phân tích nhận định, diễn biến này có thể tác động đến thị trường hàng hóa và "
            "chuỗi cung ứng của nhiều nền kinh tế châu Á - Thái Bình Dương.",
        ),
        Story(
            "Động đất mạnh ở {vung_dong_dat}, nhiều công trình bị hư hại",
            "một trận động đất mạnh đã xảy ra ở {vung_dong_dat}, khiến nhiều công trình bị hư hại",
            "Giới chức địa phương cho biết, công tác cứu hộ, khắc phục hậu quả đang được triển "
            "khai khẩn trương; hàng nghìn người dân đã được sơ tán đến nơi an toàn.",
        ),
    ),
    (
        "Theo các chuyên gia, tình hình kinh tế và an ninh toàn cầu tiếp tục diễn biến phức tạp, "
        "đòi hỏi các quốc gia tăng cường đối thoại, xây dựng lòng tin.",
        "Đại diện Liên hợp quốc hoan nghênh nỗ lực của các bên và kêu gọi tăng cường hợp tác đa "
        "phương để ứng phó với các thách thức chung.",
        "Nhiều nước trong khu vực đã bày tỏ quan ngại và khẳng định sẵn sàng hỗ trợ khi cần thiết.",
        "Hãng tin Reuters dẫn nguồn tin chính thức cho biết, các cuộc thảo luận sẽ tiếp tục trong "
        "thời gian tới.",
        "Các nhà quan sát cho rằng, hợp tác khu vực là chìa khóa bảo đảm hòa bình, ổn định và "
        "thịnh vượng chung.",
    ),
)

CULTURE = Desk(
    "van-hoa",
    6,
    False,
    ("xa-hoi",),
    ("ban-lang.jpg", "le-chao-co.jpg", "ruong-bac-thang.jpg"),
    (
        Story(
            "Giữ gìn bản sắc văn hóa dân tộc ở vùng biên {tinh}",
            "Đồn Biên phòng {post} phối hợp với chính quyền địa phương vận động đồng bào các dân "
            "tộc giữ gìn, phát huy các giá trị văn hóa truyền thống",
            "Cán bộ Đồn vận động người dân thực hiện nếp sống văn minh trong việc cưới, việc tang "
            "và lễ hội, xóa bỏ các hủ tục lạc hậu.",
        ),
        Story(
            'Giao lưu văn nghệ "Sắc màu biên cương" tại {tinh}',
            "Đồn Biên phòng {post}, Bộ đội Biên phòng tỉnh {tinh} tổ chức chương trình giao lưu "
            'văn nghệ "Sắc màu biên cương", thu hút đông đảo người dân tham gia',
            "Các tiết mục đậm đà bản sắc dân tộc, ca ngợi quê hương, đất nước, tình đoàn kết quân "
            "dân đã mang đến không khí vui tươi cho bà con khu vực biên giới.",
        ),
        Story(
            "Tủ sách Biên phòng lan tỏa văn hóa đọc nơi biên giới {tinh}",
            "Đồn Biên phòng {post} trao tặng {so_sach} đầu sách, báo cho Tủ sách Biên phòng đặt "
            "tại nhà văn hóa các thôn, bản",
            "Tủ sách giúp người dân, nhất là thanh thiếu niên, có thêm điều kiện tiếp cận tri "
            "thức, pháp luật và kinh nghiệm sản xuất.",
        ),
    ),
    (
        "Những năm qua, đời sống văn hóa tinh thần của đồng bào các dân tộc khu vực biên giới "
        "ngày càng được nâng lên.",
        "Hoạt động góp phần thắt chặt tình đoàn kết quân dân, tạo không khí phấn khởi trong nhân "
        "dân các dân tộc nơi biên giới.",
        *COMMON_PARAGRAPHS,
    ),
)

DESKS = (BORDER, DEFENCE, NEWS, ECONOMY, SOCIETY, SEA_DESK, WORLD, CULTURE)

# A few stories with &, < and quotes, placed at fixed positions, so the demo exercises escaping
# in titles, summaries and bodies (the body text is escaped when it becomes HTML).
SPECIALS = {
    37: (
        ECONOMY,
        Story(
            "Xuất nhập khẩu & logistics: thông quan qua {cua_khau} chỉ còn <30 phút",
            "nhờ thủ tục biên phòng điện tử & Cơ chế một cửa quốc gia, thời gian làm thủ tục cho "
            "mỗi phương tiện qua {cua_khau}, tỉnh {tinh} đã giảm còn <30 phút",
            "Trước đây, mỗi xe hàng phải chờ 2-3 giờ; nay với mô hình "
            '"luồng xanh" & "một lần dừng", thời gian thông quan chỉ còn <30 phút, chi phí của '
            "doanh nghiệp giảm đáng kể.",
        ),
    ),
    181: (
        SOCIETY,
        Story(
            'Tỷ lệ hộ nghèo ở xã biên giới {tinh} giảm xuống <5%: "trái ngọt" của tình quân dân',
            "tỷ lệ hộ nghèo tại các xã biên giới của tỉnh {tinh} đã giảm xuống <5%, nhờ sự chung "
            "sức của chính quyền, Bộ đội Biên phòng & doanh nghiệp",
            "Theo Ban Chỉ đạo giảm nghèo tỉnh {tinh}, tỷ lệ hộ nghèo giảm từ 9,8% xuống 4,6% "
            '(<5%); nhiều mô hình "Đồn Biên phòng & doanh nghiệp đồng hành cùng bản nghèo" phát '
            "huy hiệu quả.",
        ),
    ),
    263: (
        WORLD,
        Story(
            "ASEAN & đối tác: Biển Đông cần là 'vùng biển hòa bình, hợp tác'",
            "các nước ASEAN & đối tác cam kết duy trì đối thoại, xây dựng Biển Đông thành "
            "'vùng biển hòa bình, hợp tác' tại hội nghị ở {thu_do}",
            "Đại diện các nước nhấn mạnh việc tuân thủ luật pháp quốc tế & UNCLOS 1982, sớm hoàn "
            'tất Bộ quy tắc ứng xử (COC) "thực chất, hiệu quả".',
        ),
    ),
}
